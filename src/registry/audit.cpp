#include "tagging.hpp"

#include <algorithm>
#include <map>
#include <mlo/registry/audit.hpp>
#include <mlo/registry/audit_log.hpp>
#include <mlo/registry/verify.hpp>
#include <tuple>

namespace mlo::registry {

namespace {

// The event's name in the log: the access-rule action, except that deregistering one version is
// told apart from deprecating the whole model.
std::string action_name(TagKind kind) {
    return kind == TagKind::deregister_version ? "deregister" : detail::action_of(kind);
}

} // namespace

bool AuditReport::ok() const {
    return std::none_of(findings.begin(), findings.end(), [](const AuditFinding& f) { return !f.warning; });
}

Result<std::vector<AuditRecord>> audit_records(const Registry& registry) {
    AuditLog log(registry.project().mlo_dir());
    auto events = log.read();
    if (!events)
        return fail(std::move(events).error());
    std::vector<AuditRecord> records;
    std::map<std::string, size_t> by_tag;
    for (const auto& entry : registry.state().entries()) {
        AuditRecord record;
        record.time = utc_timestamp(entry.tag.time);
        record.actor = entry.tag.tagger_email;
        record.action = action_name(entry.name.kind);
        record.subject = entry.tag.name;
        for (const auto& signature : entry.message.signatures)
            record.signers.push_back(signature.signer);
        record.source = "tag";
        record.counter = entry.name.counter;
        by_tag[entry.tag.name] = records.size();
        records.push_back(std::move(record));
    }
    for (const auto& event : *events) {
        std::string tag = event.details.is_object() ? event.details.value("tag", "") : "";
        if (auto it = by_tag.find(tag); !tag.empty() && it != by_tag.end()) {
            records[it->second].source = "tag+log";
            records[it->second].sequence = event.seq;
            continue;
        }
        AuditRecord record;
        record.time = event.time.substr(0, 19) + "Z"; // seconds, like tag times
        record.actor = event.actor;
        record.action = event.action;
        record.subject =
            !tag.empty() ? tag
            : event.details.is_object()
                ? event.details.value("target", event.details.value("model", event.details.dump()))
                : event.details.dump();
        record.source = "log";
        record.sequence = event.seq;
        records.push_back(std::move(record));
    }
    // Tag times have one-second resolution: within a second the local log's order is the true
    // one, and tags from elsewhere follow, registrations before stage events in counter order.
    auto key = [](const AuditRecord& r) {
        return std::make_tuple(r.time, r.sequence == 0, r.sequence, r.counter, r.subject);
    };
    std::sort(records.begin(), records.end(),
              [&](const AuditRecord& a, const AuditRecord& b) { return key(a) < key(b); });
    return records;
}

Result<AuditReport> audit_verify(const Registry& registry) {
    AuditReport report;
    AuditLog log(registry.project().mlo_dir());
    auto chain = log.verify();
    if (!chain)
        return fail(std::move(chain).error());
    for (const auto& problem : *chain)
        report.findings.push_back(AuditFinding{problem.line ? "audit log line " + std::to_string(problem.line)
                                                            : std::string("audit log"),
                                               problem.message, false});
    for (const auto& problem : verify_registry(registry))
        report.findings.push_back(AuditFinding{problem.tag, problem.message, problem.warning});
    report.tags_checked = registry.state().entries().size();

    // Tags this clone created must still be there as created. Read only when the chain is
    // readable; a malformed log was reported above.
    if (auto events = log.read()) {
        report.events_checked = events->size();
        std::map<std::string, const git::TagInfo*> tags;
        for (const auto& entry : registry.state().entries())
            tags[entry.tag.name] = &entry.tag;
        for (const auto& event : *events) {
            if (!event.details.is_object() || !event.details.contains("tag"))
                continue;
            std::string tag = event.details.value("tag", "");
            std::string oid = event.details.value("tag_oid", "");
            auto it = tags.find(tag);
            std::string where = "audit log line " + std::to_string(event.seq);
            if (it == tags.end())
                report.findings.push_back(AuditFinding{
                    where, "records creating tag " + tag + ", which no longer exists (deleted)", false});
            else if (!oid.empty() && it->second->tag_oid != oid)
                report.findings.push_back(AuditFinding{where,
                                                       "records tag " + tag + " as object " +
                                                           oid.substr(0, 12) + ", but it is now " +
                                                           it->second->tag_oid.substr(0, 12) + " (replaced)",
                                                       false});
        }
    }
    return report;
}

} // namespace mlo::registry
