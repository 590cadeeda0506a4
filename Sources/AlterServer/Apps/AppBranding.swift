import FluentKit
import Foundation

/// How an app presents itself to its users on the hosted Connect pages and the sandbox
/// consent page: a display name, a logo and an accent colour, set in the portal. Pages read
/// it through `ClientApp.connectBranding`, and every value in it has passed `AppBrandingRules`.
struct AppBranding: Sendable, Equatable {
    /// The display name, else the app's name.
    let name: String
    /// A sanitized PNG or JPEG as a `data:` URI (the pages' CSP allows only `img-src data:`).
    let logoDataURI: String?
    /// `#rrggbb`, with at least 4.5:1 contrast against the white button text.
    let accentColor: String?
}

extension ClientApp {
    var connectBranding: AppBranding {
        AppBranding(name: brandDisplayName ?? name, logoDataURI: brandLogo, accentColor: brandAccentColor)
    }

    /// Adds the branding columns.
    struct AddBranding: AsyncMigration {
        func prepare(on database: any Database) async throws {
            try await database.schema(ClientApp.schema).field("brand_display_name", .string).update()
            try await database.schema(ClientApp.schema).field("brand_logo", .string).update()
            try await database.schema(ClientApp.schema).field("brand_accent_color", .string).update()
        }

        func revert(on database: any Database) async throws {
            for field in ["brand_accent_color", "brand_logo", "brand_display_name"] {
                try await database.schema(ClientApp.schema).deleteField(.string(field)).update()
            }
        }
    }
}

/// The checks every branding value passes before it is stored, and the one place an
/// uploaded logo is cleaned.
enum AppBrandingRules {
    struct Refusal: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    static let maxDisplayNameLength = 60
    static let maxLogoBytes = 64 * 1024
    static let maxLogoSide = 1024
    /// WCAG 2.x AA for normal text: the Connect buttons print white text on the accent.
    static let minimumContrast = 4.5

    static func displayName(_ raw: String) throws(Refusal) -> String? {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty { return nil }
        guard name.count <= maxDisplayNameLength else { throw Refusal(description: "The display name is at most \(maxDisplayNameLength) characters.") }
        guard !name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw Refusal(description: "The display name must not contain control characters.")
        }
        return name
    }

    static func accentColor(_ raw: String) throws(Refusal) -> String? {
        let value = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if value.isEmpty { return nil }
        guard let rgb = rgb(value) else { throw Refusal(description: "The accent colour must be a hex colour like #2b59c3.") }
        let ratio = contrast(rgb, (255, 255, 255))
        guard ratio >= minimumContrast else {
            throw Refusal(description: "The accent colour \(value) has a contrast of \(String(format: "%.2f", ratio)):1 with the white button text; choose a darker one (at least \(minimumContrast):1).")
        }
        return value
    }

    static func rgb(_ hex: String) -> (Int, Int, Int)? {
        guard hex.count == 7, hex.hasPrefix("#"), let value = Int(hex.dropFirst(), radix: 16), hex.dropFirst().allSatisfy(\.isHexDigit) else { return nil }
        return ((value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff)
    }

    /// WCAG 2.x contrast ratio of two sRGB colours.
    static func contrast(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Double {
        func luminance(_ c: (Int, Int, Int)) -> Double {
            func channel(_ v: Int) -> Double {
                let s = Double(v) / 255
                return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
            }
            return 0.2126 * channel(c.0) + 0.7152 * channel(c.1) + 0.0722 * channel(c.2)
        }
        let (la, lb) = (luminance(a), luminance(b))
        return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
    }

    /// A PNG or JPEG, re-emitted with only the chunks/segments that draw the image: text,
    /// EXIF, XMP, ICC and other metadata are dropped. SVG and everything else are refused (an
    /// SVG can carry script and external references).
    static func logo(_ bytes: [UInt8]) throws(Refusal) -> String {
        guard !bytes.isEmpty else { throw Refusal(description: "Choose an image file.") }
        guard bytes.count <= maxLogoBytes else { throw Refusal(description: "The logo is at most \(maxLogoBytes / 1024) KiB.") }
        if bytes.starts(with: pngSignature) {
            return "data:image/png;base64," + Data(try cleanPNG(bytes)).base64EncodedString()
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            return "data:image/jpeg;base64," + Data(try cleanJPEG(bytes)).base64EncodedString()
        }
        throw Refusal(description: "The logo must be a PNG or JPEG image.")
    }

    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// PNG chunks that affect the pixels; everything else (tEXt, iTXt, zTXt, eXIf, iCCP…) goes.
    private static let keptPNGChunks: Set<String> = ["IHDR", "PLTE", "tRNS", "IDAT", "IEND", "gAMA", "sRGB", "cHRM", "sBIT", "bKGD", "pHYs"]

    static func cleanPNG(_ bytes: [UInt8]) throws(Refusal) -> [UInt8] {
        let broken = Refusal(description: "The logo is not a readable PNG image.")
        func be32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        var out = pngSignature
        var offset = pngSignature.count
        var sawHeader = false
        var sawEnd = false
        while offset + 12 <= bytes.count, !sawEnd {
            let length = be32(offset)
            guard length >= 0, offset + 12 + length <= bytes.count else { throw broken }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard type.allSatisfy({ $0.isASCII && $0.isLetter }) else { throw broken }
            if !sawHeader {
                guard type == "IHDR", length == 13 else { throw broken }
                let width = be32(offset + 8)
                let height = be32(offset + 12)
                guard width > 0, height > 0, width <= maxLogoSide, height <= maxLogoSide else {
                    throw Refusal(description: "The logo is at most \(maxLogoSide)×\(maxLogoSide) pixels.")
                }
                sawHeader = true
            }
            if keptPNGChunks.contains(type) { out += bytes[offset..<(offset + 12 + length)] }
            sawEnd = type == "IEND"
            offset += 12 + length
        }
        guard sawHeader, sawEnd, out.count > pngSignature.count + 25 else { throw broken }
        return out
    }

    /// Keeps SOI, the JFIF APP0, quantisation/Huffman tables, frame and scan headers and the
    /// entropy-coded data; drops APP1–APP15 (EXIF, XMP, ICC…) and comments.
    static func cleanJPEG(_ bytes: [UInt8]) throws(Refusal) -> [UInt8] {
        let broken = Refusal(description: "The logo is not a readable JPEG image.")
        var out: [UInt8] = [0xFF, 0xD8]
        var offset = 2
        var sawFrame = false
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { throw broken }
            let marker = bytes[offset + 1]
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { throw broken }
            let segment = bytes[offset..<(offset + 2 + length)]
            if (0xC0...0xCF).contains(marker), marker != 0xC4, marker != 0xC8, marker != 0xCC {
                guard length >= 8 else { throw broken }
                let height = Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6])
                let width = Int(bytes[offset + 7]) << 8 | Int(bytes[offset + 8])
                guard width > 0, height > 0, width <= maxLogoSide, height <= maxLogoSide else {
                    throw Refusal(description: "The logo is at most \(maxLogoSide)×\(maxLogoSide) pixels.")
                }
                sawFrame = true
            }
            let isMetadata = (0xE1...0xEF).contains(marker) || marker == 0xFE
            if !isMetadata { out += segment }
            offset += 2 + length
            if marker == 0xDA {
                // Start of scan: the rest is image data up to EOI.
                guard sawFrame, bytes.count >= offset + 2, bytes[bytes.count - 2] == 0xFF, bytes[bytes.count - 1] == 0xD9 else { throw broken }
                out += bytes[offset...]
                return out
            }
        }
        throw broken
    }
}
