#pragma once

#include <cstdint>
#include <map>
#include <mlo/hash/object_id.hpp>
#include <mlo/util/error.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mlo::registry {

// One file of a registered model, relative to the model's root ('/'-separated; a single-file
// model has one entry named after the file).
struct ModelFile {
    std::string path;
    hash::ObjectId id;
    uint64_t size = 0;
    bool executable = false;
};

// A data input of the run that produced the model (a stage dep with its content id).
struct DataRef {
    std::string path;
    hash::ObjectId id;
    bool operator==(const DataRef&) const = default;
};

// Where a version came from (SPEC.md section 6).
struct Lineage {
    std::string run;    // run id, "" when registered from a workspace file no run produced
    std::string commit; // git commit of the code (40 hex)
    std::string branch;
    bool dirty = false;        // uncommitted changes to tracked files when the model was made
    bool allow_dirty = false;  // registered with --allow-dirty
    std::vector<DataRef> data; // sorted by path
    std::map<std::string, std::string> params;
    std::map<std::string, double> metrics;
};

// The immutable record of one model version: an object in the store (canonical JSON, schema
// "mlo.model/1") whose id the version's git tag carries.
struct ModelManifest {
    std::string model;
    std::string version; // "v1.2.0"
    std::string type;
    std::string path;             // project path the files were registered from
    std::string kind;             // "file" or "directory"
    hash::ObjectId root;          // the blob id (file) or tree manifest id (directory) of that path
    std::vector<ModelFile> files; // sorted by path
    nlohmann::json signature;     // the model's signature from mlo.yaml, null when none
    Lineage lineage;
    std::string author_name, author_email;
    std::string created; // UTC, "2026-11-27T06:28:17Z"
    std::string description;

    uint64_t total_size() const;
    nlohmann::json to_json() const;
    // Sorted keys, no whitespace: the same manifest always has the same bytes and id.
    std::string canonical() const { return to_json().dump(); }
    // Parses and checks a manifest; anything malformed is ErrorCode::input naming the field.
    // File paths are checked like pointer paths (relative, no "..", no empty parts).
    static Result<ModelManifest> parse(std::string_view text);
};

// "2026-11-27T06:28:17Z" for a unix time in seconds.
std::string utc_timestamp(int64_t seconds);

} // namespace mlo::registry
