import KeywayCore
import Synchronization

/// Collects warnings for assertions.
public final class WarningLog: Sendable {
    private let items = Mutex<[KeywayWarning]>([])

    public init() {}

    public var handler: WarningHandler {
        { [self] warning in items.withLock { $0.append(warning) } }
    }

    public var warnings: [KeywayWarning] { items.withLock { $0 } }

    /// The warnings' messages.
    public var messages: [String] { warnings.map(\.message) }
}
