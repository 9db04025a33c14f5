#pragma once

#include <mlo/remote/known_objects.hpp>
#include <mlo/remote/remote.hpp>
#include <mlo/store/object_store.hpp>
#include <mlo/util/progress.hpp>
#include <string>
#include <utility>
#include <vector>

namespace mlo::remote {

// What a push sends: data (files and directory trees, expanded through their manifests), then
// metadata objects that refer to data (run records, model manifests), then refs (small files
// under refs/, e.g. "runs/<id>" -> "sha256:...\n") — in that order, so that whatever a reader
// finds on the remote, everything it refers to is already there.
struct PushPlan {
    std::vector<store::ObjectRoot> data;
    std::vector<ObjectId> metadata;
    std::vector<std::pair<std::string, std::string>> refs;
};

struct PushOptions {
    bool rescan = false; // ignore the record of what the remote holds; list it again
    util::ProgressSink* progress = nullptr;
};

struct PushReport {
    uint64_t objects = 0;  // in the closure
    uint64_t uploaded = 0; // sent now
    uint64_t uploaded_bytes = 0;
    uint64_t refs = 0;                        // refs written
    bool listed = false;                      // the remote was listed (not answered from the record)
    std::vector<std::string> missing_locally; // ids not in the local store (not pushed; nor their trees)
};

// Sends everything in `plan` that the remote lacks, `remote.jobs()` transfers at a time. What
// the remote holds is taken from `known` first; the rest is asked (one parallel listing when
// there are many, a lookup each when there are few). A directory manifest is sent only after
// every object below it is on the remote, and only when all of them are (one missing locally
// keeps its manifest and every manifest above it back). `known` gains what was confirmed, and is
// saved, also when the push fails half-way, so a rerun sends only what is still missing.
Result<PushReport> push(Remote& remote, const store::ObjectStore& objects, KnownObjects& known,
                        const PushPlan& plan, const PushOptions& options);

struct FetchReport {
    uint64_t objects = 0; // in the closure (as far as the manifests could be read)
    uint64_t downloaded = 0;
    uint64_t downloaded_bytes = 0;
    std::vector<std::string> missing_on_remote; // ids
    std::vector<std::string> corrupt;           // "id: why"
};

// Downloads every object of `roots` the local store lacks, expanding trees (manifests are
// downloaded, verified and read level by level). Every object is verified against its id while
// it arrives and enters the store only when it matches; a manifest is stored only after
// everything below it. Objects missing on the remote or arriving corrupt are collected in the
// report (the rest is still fetched); other failures stop the fetch. Resumes naturally: what is
// already in the store is not downloaded again.
Result<FetchReport> fetch(Remote& remote, const store::ObjectStore& objects,
                          const std::vector<store::ObjectRoot>& roots, util::ProgressSink* progress);

} // namespace mlo::remote
