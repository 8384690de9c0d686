import Foundation

/// Writes and reads the XMP packet nada-edit embeds. The writer emits one rdf:Description with
/// simple properties as attributes and lists as rdf:Bag; the reader understands that layout (it
/// is for reading our own outputs back, not a general XMP parser).
enum XMPPacket {
    static let nadaNamespace = "http://ns.nada-edit.org/provenance/1.0/"

    static func make(_ p: Provenance) -> String {
        var attributes: [(String, String)] = [
            ("Iptc4xmpExt:DigitalSourceType", p.digitalSourceType),
            ("xmp:CreatorTool", p.software),
            ("xmp:CreateDate", p.createdISO8601),
            ("xmp:MetadataDate", p.createdISO8601),
            ("nada:ToolName", p.toolName),
            ("nada:ToolVersion", p.toolVersion),
            ("nada:CreatedUTC", p.createdISO8601),
        ]
        if let v = p.inputFileName { attributes.append(("nada:InputFileName", v)) }
        if let v = p.inputSHA256 { attributes.append(("nada:InputSHA256", v)) }
        if let v = p.domain { attributes.append(("nada:Domain", v)) }
        if let v = p.strength { attributes.append(("nada:Strength", "\(v)")) }
        if let v = p.encoder { attributes.append(("nada:Encoder", v)) }
        if let v = p.dateTimeOriginal { attributes.append(("nada:DateTimeOriginal", v)) }
        if let v = p.description { attributes.append(("nada:Description", v)) }

        var s = "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        s += "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
        s += " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
        s += "  <rdf:Description rdf:about=\"\"\n"
        s += "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
        s += "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
        s += "    xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n"
        s += "    xmlns:nada=\"\(nadaNamespace)\""
        for (name, value) in attributes { s += "\n    \(name)=\"\(escape(value))\"" }
        s += ">\n"
        s += "   <dc:description>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">\(escape(p.description ?? p.summary))</rdf:li>\n    </rdf:Alt>\n   </dc:description>\n"
        for (name, map) in [("nada:ModelSHA256", p.modelSHA256), ("nada:DomainPrompts", p.domainPrompts), ("nada:Extra", p.extra)]
        where !map.isEmpty {
            s += "   <\(name)>\n    <rdf:Bag>\n"
            for (k, v) in map.sorted(by: { $0.key < $1.key }) {
                s += "     <rdf:li>\(escape(escapeKey(k) + "=" + v))</rdf:li>\n"
            }
            s += "    </rdf:Bag>\n   </\(name)>\n"
        }
        s += "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>"
        return s
    }

    /// Our fields back from a packet we wrote; nil when the packet has no nada namespace.
    static func parse(_ xmp: String) -> Provenance? {
        guard xmp.contains(nadaNamespace), let version = attribute(xmp, "nada:ToolVersion") else { return nil }
        var p = Provenance(toolName: attribute(xmp, "nada:ToolName") ?? "nada-edit", toolVersion: version,
                           createdUTC: attribute(xmp, "nada:CreatedUTC").flatMap(Provenance.parseISO8601) ?? 0)
        p.inputFileName = attribute(xmp, "nada:InputFileName")
        p.inputSHA256 = attribute(xmp, "nada:InputSHA256")
        p.domain = attribute(xmp, "nada:Domain")
        p.strength = attribute(xmp, "nada:Strength").flatMap(Double.init)
        p.encoder = attribute(xmp, "nada:Encoder")
        p.dateTimeOriginal = attribute(xmp, "nada:DateTimeOriginal")
        p.description = attribute(xmp, "nada:Description")
        p.digitalSourceType = attribute(xmp, "Iptc4xmpExt:DigitalSourceType") ?? ""
        p.modelSHA256 = bag(xmp, "nada:ModelSHA256")
        p.domainPrompts = bag(xmp, "nada:DomainPrompts")
        p.extra = bag(xmp, "nada:Extra")
        return p
    }

    /// Value of `name="..."` (attribute form), unescaped.
    static func attribute(_ xmp: String, _ name: String) -> String? {
        for lead in [" ", "\n", "\t"] {
            if let r = xmp.range(of: lead + name + "=\"") {
                guard let end = xmp[r.upperBound...].firstIndex(of: "\"") else { return nil }
                return unescape(String(xmp[r.upperBound..<end]))
            }
        }
        return nil
    }

    static func bag(_ xmp: String, _ name: String) -> [String: String] {
        guard let open = xmp.range(of: "<\(name)>"), let close = xmp.range(of: "</\(name)>", range: open.upperBound..<xmp.endIndex)
        else { return [:] }
        var out: [String: String] = [:]
        var rest = xmp[open.upperBound..<close.lowerBound]
        while let a = rest.range(of: "<rdf:li>"), let b = rest.range(of: "</rdf:li>", range: a.upperBound..<rest.endIndex) {
            let item = unescape(String(rest[a.upperBound..<b.lowerBound]))
            if let eq = item.firstIndex(of: "=") {
                out[unescapeKey(String(item[..<eq]))] = String(item[item.index(after: eq)...])
            }
            rest = rest[b.upperBound...]
        }
        return out
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#xA;"
            case "\r": out += "&#xD;"
            case "\t": out += "&#x9;"
            default:
                // XML 1.0 cannot carry other control characters at all.
                out.unicodeScalars.append(ch.value < 0x20 || ch.value == 0xFFFE || ch.value == 0xFFFF ? " " : ch)
            }
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "&", let semi = s[i...].firstIndex(of: ";"), s.distance(from: i, to: semi) <= 10 {
                let entity = s[s.index(after: i)..<semi]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let v = UInt32(entity.dropFirst(2), radix: 16),
                       let u = Unicode.Scalar(v) { replacement = String(Character(u)) }
                    else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let u = Unicode.Scalar(v) {
                        replacement = String(Character(u))
                    }
                }
                if let replacement {
                    out += replacement
                    i = s.index(after: semi)
                    continue
                }
            }
            out.append(s[i])
            i = s.index(after: i)
        }
        return out
    }

    /// Keys in "key=value" items: '%' and '=' are percent-escaped so the first '=' splits.
    static func escapeKey(_ k: String) -> String {
        k.replacingAll("%", with: "%25").replacingAll("=", with: "%3D")
    }

    static func unescapeKey(_ k: String) -> String {
        k.replacingAll("%3D", with: "=").replacingAll("%25", with: "%")
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        out += rest
        return out
    }
}
