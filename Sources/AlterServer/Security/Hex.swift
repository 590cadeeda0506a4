/// Lower-case hex of bytes: key hashes, digests and signatures. A table lookup rather than
/// `String(format: "%02x")` per byte, which was 3.6% of a proxied call's CPU in the app-key
/// hash alone (issue 14).
extension Sequence where Element == UInt8 {
    var lowercaseHex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
