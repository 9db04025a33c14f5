#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mlo/core/config.hpp>
#include <mlo/hash/object_id.hpp>
#include <mlo/util/error.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::remote {

namespace fs = std::filesystem;
using hash::ObjectId;

// Where a download's bytes go. A retried download calls reset() and then write() again from the
// first byte; a write error stops the transfer and is returned as is.
struct ByteSink {
    std::function<Status(std::string_view)> write;
    std::function<Status()> reset;
};

// An object's path below a remote's root, "objects/sha256/<2 hex>/<62 hex>" (the layout below).
std::string object_key(const ObjectId& id);

// A place objects are shared through, laid out like the local store:
//   <root>/objects/sha256/<2 hex>/<62 hex>   objects, immutable, written complete or not at all
//   <root>/refs/runs/<run id>                 "sha256:<hex>\n", the run record's id
// Every method is thread-safe: transfers run on `jobs()` threads at once. Errors name the remote
// (never a credential); a missing object is ErrorCode::input, bad credentials ErrorCode::usage
// (exit 2), a server that keeps failing after the retries ErrorCode::failure.
class Remote {
  public:
    virtual ~Remote() = default;

    const std::string& name() const { return m_name; }
    // The configured location (url, and endpoint for S3), for messages and for keying the local
    // record of what the remote holds. Holds no secret.
    virtual std::string location() const = 0;
    // How many transfers to run at once.
    unsigned jobs() const { return m_jobs; }

    // Every object on the remote, from one listing (entries that are not object names are
    // ignored). Runs its requests on up to jobs() threads.
    virtual Result<std::vector<ObjectId>> list_objects() = 0;
    virtual Result<bool> has_object(const ObjectId& id) = 0;
    // Uploads `source`, whose bytes hash to `id`; the object appears complete or not at all.
    virtual Status put_object(const ObjectId& id, const fs::path& source, uint64_t size) = 0;
    // Streams the object's bytes into `sink` (unverified: the caller checks them against `id`).
    virtual Status get_object(const ObjectId& id, const ByteSink& sink) = 0;

    // Small named files below `refs/` (run refs): names directly inside `dir` ("runs"), read
    // (nullopt when absent), written atomically.
    virtual Result<std::vector<std::string>> list_refs(const std::string& dir) = 0;
    virtual Result<std::optional<std::string>> get_ref(const std::string& path) = 0;
    virtual Status put_ref(const std::string& path, std::string_view bytes) = 0;

  protected:
    Remote(std::string name, unsigned jobs) : m_name(std::move(name)), m_jobs(jobs) {}

  private:
    std::string m_name;
    unsigned m_jobs;
};

// The number of parallel transfers when `jobs` is not configured: 8, or 4 per core when that is
// more (transfers wait on the network far more than on the CPU).
unsigned default_jobs();

// Opens the remote `config` describes: a directory (a path, absolute or relative to
// `project_root`) or S3-compatible storage (s3://bucket/prefix). S3 credentials are resolved here
// from the AWS chain (see aws_credentials.hpp); none found is ErrorCode::usage naming the remote.
Result<std::unique_ptr<Remote>> open_remote(const core::RemoteConfig& config, const fs::path& project_root);

// Picks the remote: `name` if given, else `default_remote`, else the only one. None configured, an
// unknown name (with "did you mean") or an ambiguous choice is ErrorCode::usage.
Result<core::RemoteConfig> choose_remote(const core::Config& config, const std::string& name);

} // namespace mlo::remote
