import Foundation
import Pipeline
import PostgresNIO

/// `postgres://[user[:password]@][host][:port][/database][?host=/socket/dir&sslmode=disable|prefer|require]`, as
/// libpq spells it. The password comes from the URL or `PGPASSWORD` and never appears in `description`.
public struct QueueURL: CustomStringConvertible {
    public var user: String
    var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// The folder holding the server's socket (`?host=/dir` or a host starting with `/`): connect there, not by TCP.
    public var socketDirectory: String?
    public var sslMode: String

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme?.lowercased() ?? "") else {
            throw PipelineError.invalidArgument("--queue must be a postgres:// URL (postgres://user@host:5432/database), not '\(QueueURL.redact(text))'")
        }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        user = url.user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        password = url.password ?? environment["PGPASSWORD"]
        let hostPart = url.host ?? ""
        let socketHost = query["host"] ?? (hostPart.hasPrefix("/") ? hostPart : nil)
        host = hostPart.isEmpty || hostPart.hasPrefix("/") ? "localhost" : hostPart
        port = url.port ?? query["port"].flatMap(Int.init) ?? 5432
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        database = path.isEmpty ? user : path
        socketDirectory = socketHost.flatMap { $0.hasPrefix("/") ? $0 : nil }
        sslMode = query["sslmode"] ?? (socketDirectory != nil ? "disable" : "prefer")
        guard ["disable", "prefer", "require"].contains(sslMode) else {
            throw PipelineError.invalidArgument("--queue: sslmode must be disable, prefer or require, not '\(sslMode)'")
        }
    }

    /// The URL without its password.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)" + (socketDirectory.map { "?host=\($0)" } ?? "")
    }

    /// `text` with any password replaced by `***` (for error messages about URLs that did not parse).
    static func redact(_ text: String) -> String {
        text.replacingOccurrences(of: #"://([^:/@]*):[^@]*@"#, with: "://$1:***@", options: .regularExpression)
    }

    func configuration() throws -> PostgresConnection.Configuration {
        if let socketDirectory {
            return .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        return .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
    }
}
