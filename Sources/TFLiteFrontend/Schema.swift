/// Facts about the TFLite schema (tensorflow/lite/schema/schema.fbs, version 3) that the
/// importer needs: field ids of the tables it reads, enum values, and operator names.
enum Schema {
  static let version = 3
  static let fileIdentifier: [UInt8] = Array("TFL3".utf8)

  /// Field ids, one enum per table (a union counts as two fields: type, then value).
  enum Model { static let version = 0, operatorCodes = 1, subgraphs = 2, description = 3, buffers = 4 }
  enum OperatorCode { static let deprecatedBuiltinCode = 0, customCode = 1, version = 2, builtinCode = 3 }
  enum SubGraph { static let tensors = 0, inputs = 1, outputs = 2, operators = 3, name = 4 }
  enum Tensor {
    static let shape = 0, type = 1, buffer = 2, name = 3, quantization = 4, isVariable = 5
    static let sparsity = 6, shapeSignature = 7
  }
  enum Quantization {
    static let min = 0, max = 1, scale = 2, zeroPoint = 3, detailsType = 4, details = 5
    static let quantizedDimension = 6
  }
  enum Buffer { static let data = 0, offset = 1, size = 2 }
  enum Operator {
    static let opcodeIndex = 0, inputs = 1, outputs = 2, builtinOptionsType = 3, builtinOptions = 4
  }

  /// BuiltinOptions union members the importer reads, with their field ids.
  enum Options {
    static let conv2D = 1, depthwiseConv2D = 2, pool2D = 5, fullyConnected = 8, softmax = 9
    static let concatenation = 10, add = 11, reshape = 17, mul = 21, pad = 22, transpose = 26
    static let reducer = 27, sub = 28, squeeze = 30, stridedSlice = 32, padV2 = 43, expandDims = 52
    static let shape = 55, pack = 59, leakyRelu = 75

    enum Conv2D { static let padding = 0, strideW = 1, strideH = 2, activation = 3, dilationW = 4, dilationH = 5 }
    enum DepthwiseConv2D {
      static let padding = 0, strideW = 1, strideH = 2, depthMultiplier = 3, activation = 4
      static let dilationW = 5, dilationH = 6
    }
    enum FullyConnected { static let activation = 0, weightsFormat = 1, keepNumDims = 2 }
    enum Pool2D {
      static let padding = 0, strideW = 1, strideH = 2, filterWidth = 3, filterHeight = 4, activation = 5
    }
    enum Reshape { static let newShape = 0 }
    enum Squeeze { static let squeezeDims = 0 }
    enum Softmax { static let beta = 0 }
    /// AddOptions, SubOptions and MulOptions.
    enum Arithmetic { static let activation = 0 }
    enum Concatenation { static let axis = 0, activation = 1 }
    enum Reducer { static let keepDims = 0 }
    enum LeakyRelu { static let alpha = 0 }
    enum Shape { static let outType = 0 }
    enum Pack { static let valuesCount = 0, axis = 1 }
    enum StridedSlice {
      static let beginMask = 0, endMask = 1, ellipsisMask = 2, newAxisMask = 3, shrinkAxisMask = 4
      static let offset = 5
    }
  }

  /// BuiltinOperator values the importer maps.
  enum Op {
    static let add = 0, averagePool2D = 1, concatenation = 2, conv2D = 3, depthwiseConv2D = 4
    static let dequantize = 6, fullyConnected = 9, logistic = 14, maxPool2D = 17, mul = 18, relu = 19
    static let reluN1To1 = 20, relu6 = 21, reshape = 22, softmax = 25, tanh = 28, call = 31, custom = 32
    static let pad = 34, transpose = 39, mean = 40, sub = 41, squeeze = 43, stridedSlice = 45
    static let expandDims = 70, shape = 77, pack = 83
    static let padV2 = 60, leakyRelu = 98, quantize = 114, hardSwish = 117, if_ = 118, while_ = 119
    static let callOnce = 129
  }

  /// TensorType values.
  enum TensorType {
    static let float32 = 0, float16 = 1, int32 = 2, uint8 = 3, int64 = 4, int16 = 7, int8 = 9, int4 = 17
    static let names = [
      "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16", "COMPLEX64", "INT8",
      "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4", "BFLOAT16",
      "INT2", "UINT4", "FLOAT8_E4M3FN", "FLOAT8_E5M2",
    ]
    static func name(_ t: Int) -> String { names.indices.contains(t) ? names[t] : "type \(t)" }
  }

  static let activationNames = ["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT"]

  /// The BuiltinOperator enum's names, by value.
  static let builtinNames: [String] = """
    ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE
    EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D
    LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6
    RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM
    EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND
    TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN
    EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX
    MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV
    SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT
    REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV
    REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU
    SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU
    REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE
    NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL
    PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS
    HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE
    READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM
    MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX
    UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT
    STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM
    STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM
    STABLEHLO_CONVOLUTION STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS
    STABLEHLO_AND STABLEHLO_COSINE STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM
    STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT STABLEHLO_SELECT
    STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER STABLEHLO_COMPARE STABLEHLO_CONVERT
    STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA
    STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER
    STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW STABLEHLO_COMPOSITE
    STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE
    """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

  static func operatorName(_ code: Int) -> String {
    builtinNames.indices.contains(code) ? builtinNames[code] : "BUILTIN_\(code)"
  }
}
