@testable import AlterServer
import Foundation
import NIOConcurrencyHelpers
import Testing

/// `UUID.randomV4()`: the ids of requests and audit entries, from a buffer of kernel randomness.
@Suite("Random ids")
struct UUIDRandomTests {
    @Test("ids are version 4 with the RFC 9562 variant, and read back from their text")
    func versionAndVariant() throws {
        for _ in 0..<300 {
            let id = UUID.randomV4()
            let text = id.lowercasedString
            let version = text[text.index(text.startIndex, offsetBy: 14)]
            let variant = text[text.index(text.startIndex, offsetBy: 19)]
            #expect(version == "4")
            #expect("89ab".contains(variant))
            #expect(UUID(text: text) == id)
        }
    }

    @Test("ids drawn on many threads at once, across many refills of the buffer, are all different")
    func distinct() async throws {
        let seen = NIOLockedValueBox(Set<UUID>())
        // 8 × 2,000 ids: 250 refills of the 64-id buffer, drawn concurrently.
        await withTaskGroup(of: [UUID].self) { group in
            for _ in 0..<8 { group.addTask { (0..<2_000).map { _ in UUID.randomV4() } } }
            for await ids in group { seen.withLockedValue { $0.formUnion(ids) } }
        }
        #expect(seen.withLockedValue { $0.count } == 16_000)
    }

    @Test("the bits outside version and variant vary: each of the 122 takes both values")
    func bitsVary() {
        var ones = [Int](repeating: 0, count: 128)
        let count = 2_000
        for _ in 0..<count {
            let id = UUID.randomV4()
            withUnsafeBytes(of: id.uuid) { bytes in
                for bit in 0..<128 where bytes[bit / 8] & (0x80 >> UInt8(bit % 8)) != 0 { ones[bit] += 1 }
            }
        }
        let fixed: Set<Int> = [48, 49, 50, 51, 64, 65]  // the version nibble and the two variant bits
        for bit in 0..<128 where !fixed.contains(bit) {
            // Binomial(2000, 1/2): 1000 ± 22 (σ); outside 800...1200 is a broken generator, not chance.
            #expect((800...1200).contains(ones[bit]), "bit \(bit) was set in \(ones[bit]) of \(count) ids")
        }
        #expect(ones[48] == 0 && ones[49] == count && ones[50] == 0 && ones[51] == 0)  // 0100
        #expect(ones[64] == count && ones[65] == 0)  // 10
    }
}
