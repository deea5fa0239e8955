import KeywayCore

/// The matchers of rules found by context: a keyword naming the value (`password = ...`), a URL's user info, an
/// `Authorization: Basic` header, an Azure SAS signature.
enum Context {
    typealias Candidate = ContentScanner.Candidate

    /// Characters of an identifier around a keyword (`DB_PASSWORD`, `spring.datasource.password`, `--password`).
    @inline(__always) static func isIdentifierByte(_ b: UInt8) -> Bool { isWordByte(b) || b == 45 || b == 46 }

    /// What may follow the keyword inside the identifier: `secret_key`, `api_key_value`; anything else
    /// (`token_count`, `password_hash`, `secret_name`) names something other than the secret.
    static let allowedTails: Set<[UInt8]> = Set(
        ["", "_key", "key", "-key", "_value", "value", "_str"].map { Array($0.utf8) })

    /// Words in an identifier that say its value is not a secret: a digest, a public key, a reference.
    static let nonSecretWords = [
        "hash", "digest", "sha1", "sha256", "sha512", "md5", "checksum", "fingerprint", "public", "pubkey", "csrf",
        "xsrf", "nonce", "integrity", "length", "placeholder", "example", "sample", "dummy", "fake", "mock",
    ].map { Array($0.utf8) }

    /// `keyword ... = value` (see `SecretRule.Shape.assignment`).
    static func assignment(
        _ rule: SecretRule, _ index: Int, alphabet: SecretRule.Alphabet, minimum: Int, maximum: Int,
        _ base: UnsafePointer<UInt8>, _ n: Int, begin: Int, end: Int
    ) -> Candidate? {
        var left = begin
        if isIdentifierByte(base[begin]) {
            while left > 0, begin - left < 80, isIdentifierByte(base[left - 1]) { left -= 1 }
            if left > 0, isIdentifierByte(base[left - 1]) { return nil }
        }
        var right = end
        if isIdentifierByte(base[end - 1]) {
            while right < n, right - end < 16, isIdentifierByte(base[right]) { right += 1 }
            let tail = ContentScanner.folded(Array(UnsafeBufferPointer(start: base + end, count: right - end)))
            guard allowedTails.contains(tail) else { return nil }
        }
        let identifier = ContentScanner.folded(Array(UnsafeBufferPointer(start: base + left, count: right - left)))
        for word in nonSecretWords where Randomness.contains(identifier, word) { return nil }
        var k = right
        // The closing quote or bracket of a key: `"password": `, `ENV['TOKEN'] = `.
        var closers = 0
        while k < n, closers < 2, base[k] == 34 || base[k] == 39 || base[k] == 93 {
            k += 1
            closers += 1
        }
        let spaceStart = k
        while k < n, base[k] == 32 || base[k] == 9 { k += 1 }
        let flag = identifier.first == 45  // --password value
        let whitespaceOnly = rule.check == .netrcLine || flag || identifier == Array("bearer".utf8)
        if rule.check == .netrcLine {
            guard k > spaceStart, isNetrcLine(base, n, at: begin) else { return nil }
        } else if k < n, base[k] == 61 || base[k] == 58 {
            // `=`, `:`, `:=`, `=>`; never `==`, `::`.
            let op = base[k]
            k += 1
            if k < n, op == 58, base[k] == 61 { k += 1 } else if k < n, op == 61, base[k] == 62 { k += 1 }
            if k < n, base[k] == 61 || base[k] == 58 { return nil }
            while k < n, base[k] == 32 || base[k] == 9 { k += 1 }
        } else if !(whitespaceOnly && k > spaceStart) {
            return nil
        }
        guard k < n else { return nil }
        var quote: UInt8 = 0
        if base[k] == 34 || base[k] == 39 || base[k] == 96 {
            quote = base[k]
            k += 1
        }
        let valueStart = k
        while k < n, k - valueStart <= maximum {
            let b = base[k]
            if quote != 0 {
                if b == quote || b == 10 { break }
            } else if b <= 32 || b == 34 || b == 39 || b == 96 || b == 44 || b == 59 || b == 41 || b == 125
                || b == 93 || b == 62
            {
                break
            }
            guard alphabet.contains(b) else { return nil }
            k += 1
        }
        let length = k - valueStart
        guard length >= minimum, length <= maximum else { return nil }
        if quote != 0 {
            guard k < n, base[k] == quote else { return nil }
        } else if k < n, alphabet != .password, isWordByte(base[k]) {
            return nil
        }
        let value = UnsafeBufferPointer(start: base + valueStart, count: length)
        switch rule.check {
        case .secretValue, .netrcLine:
            // A padded base64 value of printable text (a Kubernetes Secret's `data:`) is judged decoded.
            if value.last == 61, let decoded = Base64.decode(Array(value)), decoded.count >= 4,
                decoded.allSatisfy({ $0 > 32 && $0 < 127 })
            {
                guard decoded.withUnsafeBufferPointer({ Randomness.looksLikeSecretValue($0) }) else { return nil }
            } else {
                guard Randomness.looksLikeSecretValue(value) else { return nil }
            }
        case .base64UserPassword:
            guard let decoded = Base64.decode(Array(value)), let colon = decoded.firstIndex(of: 58), colon > 0,
                decoded.allSatisfy({ $0 >= 32 && $0 < 127 })
            else { return nil }
            let password = Array(decoded[(colon + 1)...])
            guard password.withUnsafeBufferPointer({ Randomness.looksLikePassword($0) }) else { return nil }
        case .telegramBot:
            guard Formats.isTelegramBotToken(value) else { return nil }
        case .discordBot:
            guard Formats.isDiscordBotToken(value) else { return nil }
        case .uuid:
            guard Formats.isUUID(value), Randomness.entropy(value) >= 3.0 else { return nil }
        default:
            guard Randomness.looksLikeKey(value) else { return nil }
        }
        let text = string(base, valueStart, k)
        return Candidate(rule: index, start: valueStart, end: k, secret: text, masked: Masking.mask(text))
    }

    /// Whether the line holding `position` is a `.netrc` entry (`machine` or `default`, with `login`).
    static func isNetrcLine(_ base: UnsafePointer<UInt8>, _ n: Int, at position: Int) -> Bool {
        let line = ContentScanner.folded(lineBytes(base, n, at: position))
        return (Randomness.contains(line, Array("machine ".utf8)) || Randomness.contains(line, Array("default".utf8)))
            && Randomness.contains(line, Array("login ".utf8))
    }

    static func lineBytes(_ base: UnsafePointer<UInt8>, _ n: Int, at position: Int, limit: Int = 4096) -> [UInt8] {
        var start = position
        while start > 0, position - start < limit, base[start - 1] != 10 { start -= 1 }
        var end = position
        while end < n, end - position < limit, base[end] != 10 { end += 1 }
        return Array(UnsafeBufferPointer(start: base + start, count: end - start))
    }

    static let urlSchemes: Set<[UInt8]> = Set(
        [
            "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "amqps",
            "http", "https", "ftp", "ftps", "sftp", "smtp", "smtps", "ldap", "ldaps", "mssql", "sqlserver",
            "jdbc:mysql",
            "jdbc:postgresql", "oracle", "cockroachdb", "clickhouse", "nats", "kafka", "mqtt", "git", "ssh", "svn",
            "imap", "imaps", "pop3", "socks5",
        ].map { Array($0.utf8) })

    /// `scheme://user:password@host`: the password.
    static func credentialURL(_ index: Int, _ base: UnsafePointer<UInt8>, _ n: Int, begin: Int, end: Int) -> Candidate?
    {
        var s = begin
        while s > 0, begin - s < 24,
            isWordByte(base[s - 1]) || base[s - 1] == 43 || base[s - 1] == 46 || base[s - 1] == 45
                || base[s - 1] == 58
        {
            s -= 1
        }
        guard urlSchemes.contains(ContentScanner.folded(Array(UnsafeBufferPointer(start: base + s, count: begin - s))))
        else { return nil }
        var k = end
        var colon = -1
        while k < n, k - end < 256 {
            let b = base[k]
            if b == 64 { break }
            if b <= 32 || b == 47 || b == 34 || b == 39 || b == 96 || b == 60 || b == 62 || b == 63 || b == 35
                || b == 41 || b == 92
            {
                return nil
            }
            if b == 58, colon < 0 { colon = k }
            k += 1
        }
        guard k < n, base[k] == 64, colon > end, k > colon + 1, k + 1 < n, isWordByte(base[k + 1]) else { return nil }
        let password = UnsafeBufferPointer(start: base + colon + 1, count: k - colon - 1)
        guard Randomness.looksLikePassword(password) else { return nil }
        let text = string(base, colon + 1, k)
        return Candidate(rule: index, start: colon + 1, end: k, secret: text, masked: Masking.mask(text))
    }

    /// `Basic <base64 of user:password>` (an Authorization header) and `-u user:password` / `--user` on a curl
    /// line.
    static func basicAuth(_ index: Int, _ base: UnsafePointer<UInt8>, _ n: Int, begin: Int, end: Int) -> Candidate? {
        let header = base[begin] == 98 || base[begin] == 66  // "basic "
        var k = end
        while k < n, base[k] == 32 { k += 1 }
        var quote: UInt8 = 0
        if !header, k < n, base[k] == 34 || base[k] == 39 {
            quote = base[k]
            k += 1
        }
        let valueStart = k
        while k < n, k - valueStart < 512, base[k] > 32, base[k] < 127, base[k] != 34, base[k] != 39, base[k] != 96 {
            k += 1
        }
        if quote != 0, !(k < n && base[k] == quote) { return nil }
        let value = Array(UnsafeBufferPointer(start: base + valueStart, count: k - valueStart))
        let pair: [UInt8]
        if header {
            guard begin == 0 || !isWordByte(base[begin - 1]), value.count >= 8,
                value.allSatisfy({ SecretRule.Alphabet.base64.contains($0) }), let decoded = Base64.decode(value),
                decoded.allSatisfy({ $0 >= 32 && $0 < 127 })
            else { return nil }
            pair = decoded
        } else {
            let line = ContentScanner.folded(lineBytes(base, n, at: begin))
            guard Randomness.contains(line, Array("curl".utf8)) else { return nil }
            pair = value
        }
        guard let colon = pair.firstIndex(of: 58), colon > 0 else { return nil }
        let password = Array(pair[(colon + 1)...])
        guard password.withUnsafeBufferPointer({ Randomness.looksLikePassword($0) }) else { return nil }
        let text = string(base, valueStart, k)
        return Candidate(rule: index, start: valueStart, end: k, secret: text, masked: Masking.mask(text))
    }

    /// `sig=<url-encoded base64>` in a URL that also has `sv=` (a storage service version): an Azure SAS.
    static func sasSignature(_ index: Int, _ base: UnsafePointer<UInt8>, _ n: Int, begin: Int, end: Int) -> Candidate? {
        guard begin == 0 || base[begin - 1] == 38 || base[begin - 1] == 63 else { return nil }
        var k = end
        while k < n, k - end <= 100, SecretRule.Alphabet.base64.contains(base[k]) || base[k] == 37 { k += 1 }
        guard k - end >= 40, k - end <= 100 else { return nil }
        let line = lineBytes(base, n, at: begin, limit: 2048)
        guard Randomness.contains(line, Array("sv=".utf8)),
            Randomness.contains(line, Array("se=".utf8)) || Randomness.contains(line, Array("sp=".utf8))
        else { return nil }
        let value = UnsafeBufferPointer(start: base + end, count: k - end)
        guard Randomness.looksLikeKey(value) else { return nil }
        let text = string(base, end, k)
        return Candidate(rule: index, start: end, end: k, secret: text, masked: Masking.mask(text))
    }
}

/// Checksums of key formats.
enum Checksums {
    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// The value of base62 digits (`0-9A-Za-z`), nil for any other character.
    static func base62<C: Collection>(_ digits: C) -> UInt64? where C.Element == UInt8 {
        var v: UInt64 = 0
        for b in digits {
            let d: UInt64
            switch b {
            case 48...57: d = UInt64(b - 48)
            case 65...90: d = UInt64(b - 55)
            case 97...122: d = UInt64(b - 61)
            default: return nil
            }
            v = v * 62 + d
        }
        return v
    }

    /// GitHub's (`ghp_`...) and npm's (`npm_`) tokens: 30 random base62 characters, then their CRC32 in 6 base62
    /// digits.
    static func githubStyle(_ body: UnsafeBufferPointer<UInt8>) -> Bool {
        guard body.count == 36, let tail = base62(body[30...]) else { return false }
        return tail == UInt64(crc32(body[..<30]))
    }
}

/// Shapes of particular formats.
enum Formats {
    /// 8-4-4-4-12 hexadecimal digits.
    static func isUUID(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        guard v.count == 36 else { return false }
        for (i, b) in v.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if b != 45 { return false }
            } else if !SecretRule.Alphabet.hex.contains(b) {
                return false
            }
        }
        return true
    }

    static func isTelegramBotToken(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let colon = v.firstIndex(of: 58), (8...10).contains(colon),
            v[..<colon].allSatisfy({ $0 >= 48 && $0 <= 57 }), v.count - colon - 1 == 35
        else { return false }
        let secret = UnsafeBufferPointer(rebasing: v[(colon + 1)...])
        return secret.allSatisfy { SecretRule.Alphabet.urlSafe.contains($0) } && Randomness.looksLikeKey(secret)
    }

    static func isDiscordBotToken(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        let parts = v.split(separator: 46, omittingEmptySubsequences: false)
        guard parts.count == 3, (23...28).contains(parts[0].count), (6...7).contains(parts[1].count),
            (27...40).contains(parts[2].count), let first = parts[0].first, first >= 77 && first <= 79
        else { return false }
        return Randomness.looksLikeKey(UnsafeBufferPointer(rebasing: parts[2]))
    }
}

/// base64 (standard or URL-safe, padding optional).
enum Base64 {
    static func decode(_ text: [UInt8], urlSafe: Bool = false) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for b in text {
            let v: UInt32
            switch b {
            case 65...90: v = UInt32(b - 65)
            case 97...122: v = UInt32(b - 71)
            case 48...57: v = UInt32(b + 4)
            case 43 where !urlSafe, 45 where urlSafe: v = 62
            case 47 where !urlSafe, 95 where urlSafe: v = 63
            case 61: continue
            default: return nil
            }
            acc = (acc << 6) | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}
