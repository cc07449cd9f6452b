/// A bounds-checked reader for the flatbuffer binary format, as TFLite files use it.
///
/// Nothing read from the bytes is trusted: every offset, vtable, vector length and string is
/// checked against the buffer before it is used, and no alignment is assumed (values are
/// assembled byte by byte, little-endian). Vector lengths are checked against the bytes that
/// remain before anything is allocated, and a shared budget bounds the total number of vector
/// elements read, so a file whose tables all point at the same large vector cannot make the
/// reader do quadratic work. The schema's depth is fixed by the caller: nothing recurses.

/// What was wrong with the bytes, and where.
struct FlatBufferError: Error {
  var message: String
  var offset: Int
}

/// The bytes plus the element budget. A class so that every table and vector shares one budget.
final class FlatBuffer {
  let bytes: [UInt8]
  private var budget: Int

  /// `budgetFactor` bounds the elements read in all to that many times the file size (plus a
  /// little): a well-formed file reads each vector once.
  init(_ bytes: [UInt8], budgetFactor: Int = 2) {
    self.bytes = bytes
    self.budget = bytes.count * budgetFactor + 4096
  }

  /// Throws unless `size` bytes at `pos` lie inside the buffer.
  func check(_ pos: Int, _ size: Int, _ what: @autoclosure () -> String) throws(FlatBufferError) {
    guard pos >= 0, size >= 0, size <= bytes.count, pos <= bytes.count - size else {
      throw FlatBufferError(
        message: "\(what()) (\(size) bytes) lies outside the \(bytes.count)-byte file", offset: pos)
    }
  }

  func charge(_ elements: Int, at pos: Int) throws(FlatBufferError) {
    budget -= elements
    guard budget >= 0 else {
      throw FlatBufferError(message: "the file reuses its data implausibly often", offset: pos)
    }
  }

  /// An unsigned little-endian integer of `size` bytes (1...8) at `pos`.
  func uint(_ pos: Int, _ size: Int, _ what: @autoclosure () -> String) throws(FlatBufferError) -> UInt64 {
    try check(pos, size, what())
    var v: UInt64 = 0
    for k in (0..<size).reversed() { v = v << 8 | UInt64(bytes[pos + k]) }
    return v
  }

  func u8(_ p: Int) throws(FlatBufferError) -> UInt8 { UInt8(truncatingIfNeeded: try uint(p, 1, "a byte")) }
  func u16(_ p: Int) throws(FlatBufferError) -> Int { Int(try uint(p, 2, "a 16-bit value")) }
  func u32(_ p: Int) throws(FlatBufferError) -> Int { Int(try uint(p, 4, "a 32-bit value")) }
  func i32(_ p: Int) throws(FlatBufferError) -> Int {
    Int(Int32(truncatingIfNeeded: try uint(p, 4, "a 32-bit value")))
  }

  /// The root table: a uoffset at byte 0.
  func root() throws(FlatBufferError) -> Table {
    try table(at: try u32(0), "the root table")
  }

  /// The table at `pos`: an soffset back (or forward) to its vtable, which lists field offsets.
  func table(at pos: Int, _ what: @autoclosure () -> String) throws(FlatBufferError) -> Table {
    try check(pos, 4, what())
    let vtable = pos - (try i32(pos))
    try check(vtable, 4, "the vtable of \(what())")
    let vtableSize = try u16(vtable)
    let inlineSize = try u16(vtable + 2)
    guard vtableSize >= 4, vtableSize % 2 == 0 else {
      throw FlatBufferError(message: "the vtable of \(what()) has a bad size \(vtableSize)", offset: vtable)
    }
    try check(vtable, vtableSize, "the vtable of \(what())")
    guard inlineSize >= 4 else {
      throw FlatBufferError(message: "\(what()) has a bad inline size \(inlineSize)", offset: vtable)
    }
    try check(pos, inlineSize, what())
    return Table(fb: self, pos: pos, vtable: vtable, vtableSize: vtableSize, inlineSize: inlineSize)
  }
}

/// A vector: where its first element is and how many there are (already checked to fit).
struct FBVector {
  var start: Int
  var count: Int
}

/// One table. Field ids are the schema's field numbers (0-based, union types count as fields).
struct Table {
  let fb: FlatBuffer
  let pos: Int
  let vtable: Int
  let vtableSize: Int
  let inlineSize: Int

  /// The absolute position of field `id`, nil when absent; checks that `size` bytes fit inside
  /// the table.
  func field(_ id: Int, size: Int) throws(FlatBufferError) -> Int? {
    let entry = 4 + 2 * id
    guard entry + 2 <= vtableSize else { return nil }
    let off = try fb.u16(vtable + entry)
    guard off != 0 else { return nil }
    guard off + size <= inlineSize else {
      throw FlatBufferError(message: "field \(id) lies outside its table", offset: pos + off)
    }
    return pos + off
  }

  func uint(_ id: Int, size: Int, default d: UInt64 = 0) throws(FlatBufferError) -> UInt64 {
    guard let p = try field(id, size: size) else { return d }
    return try fb.uint(p, size, "field \(id)")
  }
  func int(_ id: Int, size: Int, default d: Int = 0) throws(FlatBufferError) -> Int {
    guard let p = try field(id, size: size) else { return d }
    let raw = try fb.uint(p, size, "field \(id)")
    let shift = UInt64(64 - 8 * size)
    return Int(Int64(bitPattern: raw << shift) >> Int64(shift))
  }
  func bool(_ id: Int) throws(FlatBufferError) -> Bool { try uint(id, size: 1) != 0 }
  func float(_ id: Int, default d: Float = 0) throws(FlatBufferError) -> Float {
    guard let p = try field(id, size: 4) else { return d }
    return Float(bitPattern: UInt32(truncatingIfNeeded: try fb.uint(p, 4, "field \(id)")))
  }

  /// Follows the uoffset stored in field `id`.
  private func target(_ id: Int) throws(FlatBufferError) -> Int? {
    guard let p = try field(id, size: 4) else { return nil }
    return p + (try fb.u32(p))
  }

  func table(_ id: Int, _ what: @autoclosure () -> String) throws(FlatBufferError) -> Table? {
    guard let t = try target(id) else { return nil }
    return try fb.table(at: t, what())
  }

  /// The vector in field `id` with elements of `elementSize` bytes, checked to fit in the file.
  func vector(_ id: Int, elementSize: Int) throws(FlatBufferError) -> FBVector? {
    guard let v = try target(id) else { return nil }
    let count = try fb.u32(v)
    let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
    guard !overflow, bytes <= fb.bytes.count - v - 4 else {
      throw FlatBufferError(
        message: "a vector of \(count) \(elementSize)-byte elements is longer than the file", offset: v)
    }
    return FBVector(start: v + 4, count: count)
  }

  /// The elements of a vector of integers (`size` bytes each; signed when `signed`).
  func ints(_ id: Int, size: Int, signed: Bool = true) throws(FlatBufferError) -> [Int]? {
    guard let v = try vector(id, elementSize: size) else { return nil }
    try fb.charge(v.count, at: v.start)
    var out: [Int] = []
    out.reserveCapacity(v.count)
    let shift = UInt64(64 - 8 * size)
    for k in 0..<v.count {
      let raw = try fb.uint(v.start + k * size, size, "a vector element")
      out.append(signed ? Int(Int64(bitPattern: raw << shift) >> Int64(shift)) : Int(raw))
    }
    return out
  }

  func floats(_ id: Int) throws(FlatBufferError) -> [Float]? {
    try ints(id, size: 4, signed: false)?.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
  }

  func bytes(_ id: Int) throws(FlatBufferError) -> [UInt8]? {
    guard let v = try vector(id, elementSize: 1) else { return nil }
    try fb.charge(v.count, at: v.start)
    return Array(fb.bytes[v.start..<(v.start + v.count)])
  }

  func string(_ id: Int) throws(FlatBufferError) -> String? {
    guard let v = try vector(id, elementSize: 1) else { return nil }
    try fb.charge(v.count, at: v.start)
    return String(decoding: fb.bytes[v.start..<(v.start + v.count)], as: UTF8.self)
  }

  /// The tables of a vector of tables (each element a uoffset relative to itself).
  func tables(_ id: Int, _ what: String) throws(FlatBufferError) -> [Table] {
    guard let v = try vector(id, elementSize: 4) else { return [] }
    try fb.charge(v.count, at: v.start)
    var out: [Table] = []
    out.reserveCapacity(v.count)
    for k in 0..<v.count {
      let e = v.start + 4 * k
      out.append(try fb.table(at: e + (try fb.u32(e)), "\(what) \(k)"))
    }
    return out
  }
}
