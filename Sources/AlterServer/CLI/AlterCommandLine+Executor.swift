import NIOCore
import NIOPosix

extension AlterCommandLine {
    /// Makes NIO's event loops Swift concurrency's global executor. Must run first in
    /// `main`, before any task exists.
    ///
    /// Without it every request hops between threads several times: NIO reads it on an event
    /// loop, the async handler runs on a dispatch worker, each database or HTTP client await
    /// goes back to an event loop and returns to another worker, and the answer is written on
    /// the event loop again. A profile of `POST /v1/request` had a fifth of the vault's CPU in
    /// the kernel switching threads (issue 14). Running jobs on the event loops removes those
    /// hops; work that blocks (scrypt, SQLite, `getaddrinfo`) already runs on a thread pool,
    /// never on an event loop.
    public static func runConcurrencyOnEventLoops() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
