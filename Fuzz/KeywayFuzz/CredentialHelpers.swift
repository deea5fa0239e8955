import KeywayCore

/// git's credential protocol reader (`GitCredentialProtocol.parse`): no crash on any input, and what it reads
/// survives `serialize` and a second read (the attributes `serialize` writes: everything but `wwwauth[]`,
/// `continue` and capabilities other than `authtype`). A serialized answer never holds a line git would split.
enum GitCredentialFuzz {
    static let target = FuzzTarget(
        name: "git-credential", about: "git credential protocol: reader, serialize round trip", run: run)

    static func run(_ bytes: [UInt8]) {
        guard let message = try? GitCredentialProtocol.parse(bytes) else { return }
        let serialized = GitCredentialProtocol.serialize(message)
        guard !serialized.contains(0), !serialized.contains(0x0D) else {
            fatalError("a serialized answer holds a NUL or carriage return")
        }
        guard let again = try? GitCredentialProtocol.parse(serialized) else {
            fatalError("a serialized answer cannot be read back")
        }
        var expected = message
        expected.wwwauth = []
        expected.continueFlag = false
        expected.capabilities = message.announcesAuthtype ? ["authtype"] : []
        guard again == expected else { fatalError("a message does not survive serialize and a second read") }
    }
}

/// docker's credential-helper payloads (`DockerCredentialProtocol`): no crash on any input; a `store` payload read
/// survives `serialize` (get's answer) and a second read; a server URL read is read the same again.
enum DockerCredentialFuzz {
    static let target = FuzzTarget(
        name: "docker-credential", about: "docker credential-helper payloads: store JSON and server URL", run: run)

    static func run(_ bytes: [UInt8]) {
        if let credentials = try? DockerCredentialProtocol.parseStore(bytes) {
            guard
                (try? DockerCredentialProtocol.parseStore(Array(DockerCredentialProtocol.serialize(credentials).utf8)))
                    == credentials
            else { fatalError("store's payload does not survive get's answer") }
        }
        if let url = try? DockerCredentialProtocol.parseServerURL(bytes) {
            guard (try? DockerCredentialProtocol.parseServerURL(Array(url.utf8))) == url else {
                fatalError("a server URL is not read the same twice")
            }
        }
    }
}
