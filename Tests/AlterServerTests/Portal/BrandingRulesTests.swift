@testable import AlterServer
import Foundation
import Testing

@Suite("Connect branding rules")
struct BrandingRulesTests {
    @Test("accent colours need 4.5:1 against white text", arguments: [
        ("#2b59c3", "#2b59c3"), ("#1F4FBF", "#1f4fbf"), ("#000000", "#000000"), ("", nil),
    ] as [(String, String?)])
    func acceptedAccents(raw: String, stored: String?) throws {
        #expect(try AppBrandingRules.accentColor(raw) == stored)
    }

    @Test("low-contrast or malformed accent colours are refused", arguments: ["#ffff00", "#ffffff", "#7d9cf0", "red", "#12345", "#12345g", "javascript:alert(1)", "#123456;}body{"])
    func refusedAccents(raw: String) {
        #expect(throws: AppBrandingRules.Refusal.self) { try AppBrandingRules.accentColor(raw) }
    }

    @Test("WCAG contrast of black on white is 21:1, of a colour on itself 1:1")
    func contrast() {
        #expect(abs(AppBrandingRules.contrast((0, 0, 0), (255, 255, 255)) - 21) < 0.01)
        #expect(AppBrandingRules.contrast((43, 89, 195), (43, 89, 195)) == 1)
    }

    @Test("display names are trimmed, at most 60 characters, without control characters")
    func displayNames() throws {
        #expect(try AppBrandingRules.displayName("  Acme  ") == "Acme")
        #expect(try AppBrandingRules.displayName("   ") == nil)
        #expect(throws: AppBrandingRules.Refusal.self) { try AppBrandingRules.displayName(String(repeating: "x", count: 61)) }
        #expect(throws: AppBrandingRules.Refusal.self) { try AppBrandingRules.displayName("a\u{0007}b") }
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        // The CRC is not what these tests are about (the cleaner copies chunks as they are).
        be32(data.count) + Array(type.utf8) + data + [0, 0, 0, 0]
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    static func png(width: Int = 2, height: Int = 2, extra: [UInt8] = []) -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0]) + extra
            + chunk("IDAT", [0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]) + chunk("IEND", [])
    }

    @Test("an uploaded PNG keeps its image chunks and loses its text and EXIF chunks")
    func pngMetadataStripped() throws {
        let dirty = Self.png(extra: Self.chunk("tEXt", Array("Comment\u{0}<script>alert(1)</script>".utf8)) + Self.chunk("eXIf", [1, 2, 3]))
        let uri = try AppBrandingRules.logo(dirty)
        #expect(uri.hasPrefix("data:image/png;base64,"))
        let cleaned = [UInt8](Data(base64Encoded: String(uri.dropFirst("data:image/png;base64,".count)))!)
        #expect(cleaned == Self.png())
    }

    @Test("SVG, oversized, too-large and broken images are refused")
    func refusedLogos() {
        let svg = Array("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".utf8)
        for bytes in [svg, [], Self.png(width: 4096, height: 10), Array(Self.png().prefix(30)), Self.png() + [UInt8](repeating: 0, count: 70 * 1024)] {
            #expect(throws: AppBrandingRules.Refusal.self) { try AppBrandingRules.logo(bytes) }
        }
    }

    @Test("a JPEG loses its APP1 (EXIF/XMP) and comment segments")
    func jpegMetadataStripped() throws {
        let sof: [UInt8] = [0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x02, 0x00, 0x02, 0x01, 0x01, 0x11, 0x00]
        let app1: [UInt8] = [0xFF, 0xE1, 0x00, 0x06] + Array("Exif".utf8)
        let comment: [UInt8] = [0xFF, 0xFE, 0x00, 0x05] + Array("hi!".utf8)
        let sos: [UInt8] = [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]
        let jpeg: [UInt8] = [0xFF, 0xD8] + app1 + comment + sof + sos + [0x12, 0x34] + [0xFF, 0xD9]
        let uri = try AppBrandingRules.logo(jpeg)
        let cleaned = [UInt8](Data(base64Encoded: String(uri.dropFirst("data:image/jpeg;base64,".count)))!)
        #expect(cleaned == [0xFF, 0xD8] + sof + sos + [0x12, 0x34, 0xFF, 0xD9])
    }
}
