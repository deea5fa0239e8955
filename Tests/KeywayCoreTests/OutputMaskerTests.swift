import Foundation
import KeywayCore
import Testing

@Suite struct OutputMaskerTests {
    static let key = "rfx_Mask+Key/0123456789=x"

    static func masked(_ text: [UInt8], chunk: Int, secrets: [(String, String)] = [("reflex", key)]) -> String {
        var masker = OutputMasker(secrets.map { (name: $0.0, key: Array($0.1.utf8)) })
        var output: [UInt8] = []
        var i = 0
        while i < text.count {
            masker.feed(Array(text[i..<min(i + chunk, text.count)]), into: &output)
            i += chunk
        }
        masker.finish(into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    static var encodings: [String] {
        let data = Data(key.utf8)
        let b64 = data.base64EncodedString()
        let url = b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let percent = key.addingPercentEncoding(
            withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))!
        let hex = data.map { String(format: "%02x", $0) }.joined()
        let basic = Data("user:\(key)".utf8).base64EncodedString()
        let basic2 = Data("us:\(key)trailer".utf8).base64EncodedString()
        let lowerPercent = percent.replacingOccurrences(of: "%2B", with: "%2b").replacingOccurrences(
            of: "%2F", with: "%2f"
        )
        .replacingOccurrences(of: "%3D", with: "%3d")
        return [key, b64, url, percent, lowerPercent, hex, hex.uppercased(), basic, basic2]
    }

    @Test func everyFormAtEveryChunkSize() throws {
        let text = Array(Self.encodings.map { "<\($0)>" }.joined(separator: "\n").utf8)
        for chunk in [1, 2, 3, 7, 64, 1 << 16] {
            let out = Self.masked(text, chunk: chunk)
            for form in Self.encodings { #expect(!out.contains(form), "chunk \(chunk): \(form) in \(out)") }
            #expect(!out.contains("0123456789"), "chunk \(chunk): \(out)")
            // What stays: base64 padding, and in `user:KEY` the characters that also depend on the bytes before it.
            #expect(
                out
                    == "<<keyway:reflex>>\n<<keyway:reflex>==>\n<<keyway:reflex>>\n<<keyway:reflex>>\n<<keyway:reflex>>\n"
                    + "<<keyway:reflex>>\n<<keyway:reflex>>\n<dXNlcjpy<keyway:reflex>>\n<dXM6<keyway:reflex>eHRyYWlsZXI=>",
                "chunk \(chunk): \(out)")
            #expect(out.hasPrefix("<<keyway:reflex>>\n"), "\(out)")
        }
    }

    @Test func plainTextIsUnchangedAndNothingIsLost() {
        var text: [UInt8] = []
        for i in 0..<20000 { text += Array("line \(i) rfx_Mask+Ke almost a key rfx_ \(i % 7)\n".utf8) }
        for chunk in [1, 5, 4096] {
            #expect(Self.masked(text, chunk: chunk) == String(decoding: text, as: UTF8.self))
        }
        // A prefix of the key at the very end is written at the end, not dropped.
        #expect(Self.masked(Array("tail rfx_Mask+Ke".utf8), chunk: 3) == "tail rfx_Mask+Ke")
    }

    /// Found by the `masker` fuzz target: a key that is the start of another key, at the very end of the stream,
    /// was held back as the start of the longer one and then written out unmasked by `finish`.
    @Test func aKeyThatStartsAnotherIsMaskedAtTheEndOfTheStream() {
        let secrets = [("long", "AAAAAAAAHHHH"), ("short", "AAAAAAAA")]
        for chunk in [1, 3, 100] {
            #expect(Self.masked(Array("x:AAAAAAAA".utf8), chunk: chunk, secrets: secrets) == "x:<keyway:short>")
            #expect(
                Self.masked(Array("x:AAAAAAAAAAAAAAAAHH".utf8), chunk: chunk, secrets: secrets)
                    == "x:<keyway:short><keyway:short>HH")
        }
    }

    @Test func severalKeysLongestFirst() {
        let secrets = [("a", "abcdefghij"), ("b", "abcdefghijKLMNOP")]
        #expect(
            Self.masked(Array("x abcdefghijKLMNOP y abcdefghij z".utf8), chunk: 1, secrets: secrets)
                == "x <keyway:b> y <keyway:a> z")
    }

    /// Review finding: a key whose start is the end of another key, printed right after it (A's suffix is B's
    /// prefix), was left partly in the clear: after A's match the search went on after A, where B no longer starts.
    @Test func aKeyOverlappingTheOneBeforeItIsMaskedWhole() {
        let secrets = [("a", "abcdefghXYZW1234"), ("b", "XYZW1234mnopqrst"), ("c", "mnopqrstUVWXYZ99")]
        for chunk in [1, 2, 5, 9, 100] {
            #expect(
                Self.masked(Array("x abcdefghXYZW1234mnopqrst y".utf8), chunk: chunk, secrets: secrets)
                    == "x <keyway:a><keyway:b> y", "chunk \(chunk)")
            // A chain: each key begins inside the one before it; c begins where a ends, so a and c cover b.
            #expect(
                Self.masked(Array("abcdefghXYZW1234mnopqrstUVWXYZ99!".utf8), chunk: chunk, secrets: secrets)
                    == "<keyway:a><keyway:c>!", "chunk \(chunk)")
            #expect(
                Self.masked(Array("abcdefghXYZW1234mnopqrstUVWXYZ9".utf8), chunk: chunk, secrets: secrets)
                    == "<keyway:a><keyway:b>UVWXYZ9", "chunk \(chunk)")
            // B's start inside A, but the stream ends before B is whole: A alone is masked, the rest kept.
            #expect(
                Self.masked(Array("abcdefghXYZW1234mnop".utf8), chunk: chunk, secrets: secrets)
                    == "<keyway:a>mnop", "chunk \(chunk)")
            // One key twice, overlapping itself.
            #expect(
                Self.masked(Array("-abab1234abab1234abab-".utf8), chunk: chunk, secrets: [("k", "abab1234abab")])
                    == "-<keyway:k><keyway:k>-", "chunk \(chunk)")
        }
    }
}
