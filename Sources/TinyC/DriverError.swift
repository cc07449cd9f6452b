/// A one-line error from the driver: names the file or the thing, and what is wrong.
public struct DriverError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
