#pragma once

#include <mlo/registry/registry.hpp>
#include <string>
#include <vector>

namespace mlo::registry {

// One line of `mlo audit log`: a registry tag, a local event, or both when the local log recorded
// the creation of that tag.
struct AuditRecord {
    std::string time; // UTC
    std::string actor;
    std::string action;
    std::string subject; // the tag, or what a local event was about
    std::vector<std::string> signers;
    std::string source;   // "tag", "log" or "tag+log"
    int64_t sequence = 0; // the local log's seq; 0 for a tag this clone did not create
    uint64_t counter = 0; // a stage tag's N, to order tags made within one second
};

// Every registry and deployment event, oldest first: tags from git, events from the local log.
Result<std::vector<AuditRecord>> audit_records(const Registry& registry);

struct AuditFinding {
    std::string where; // "audit log line 3", a tag name
    std::string message;
    bool warning = false;
};

struct AuditReport {
    std::vector<AuditFinding> findings;
    size_t tags_checked = 0;
    size_t events_checked = 0;
    bool ok() const;
};

// `mlo audit verify`: the local log's hash chain, every registry tag (verify_registry), and every
// tag the local log recorded creating, which must still exist with the same object id (a tag
// deleted or moved after the fact is found this way).
Result<AuditReport> audit_verify(const Registry& registry);

} // namespace mlo::registry
