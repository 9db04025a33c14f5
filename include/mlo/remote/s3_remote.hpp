#pragma once

#include <mlo/remote/aws_credentials.hpp>
#include <mlo/remote/remote.hpp>
#include <mlo/remote/remote_url.hpp>
#include <mlo/remote/retry_policy.hpp>
#include <mutex>

namespace mlo::remote {

// S3-compatible object storage over libcurl, requests signed by libcurl's SigV4
// (CURLOPT_AWS_SIGV4). Path-style urls against a configured `endpoint` (MinIO, Ceph, s3rver),
// virtual-hosted AWS urls otherwise. Connections are kept alive: each transfer borrows an easy
// handle from a pool and returns it, and an easy handle keeps its connection open between
// requests, so `jobs` threads reuse `jobs` connections. Failed requests are retried (RetryPolicy).
// Uploads carry their content's SHA-256 as x-amz-content-sha256 — which is the object id, so the
// payload is signed at no cost and a server that checks it refuses damaged bytes.
class S3Remote : public Remote {
  public:
    struct Settings {
        std::string name;
        S3Location location;
        std::string url; // as configured, for messages
        std::optional<Endpoint> endpoint;
        std::string region;
        AwsCredentials credentials;
        unsigned jobs = 8;
        RetryPolicy retry;
    };
    explicit S3Remote(Settings settings);
    ~S3Remote() override;

    std::string location() const override;
    Result<std::vector<ObjectId>> list_objects() override;
    Result<bool> has_object(const ObjectId& id) override;
    Status put_object(const ObjectId& id, const fs::path& source, uint64_t size) override;
    Status get_object(const ObjectId& id, const ByteSink& sink) override;
    Result<std::vector<std::string>> list_refs(const std::string& dir) override;
    Result<std::optional<std::string>> get_ref(const std::string& path) override;
    Status put_ref(const std::string& path, std::string_view bytes) override;

    struct Request;
    struct Response {
        long status = 0;
        std::string body; // error bodies and listings; object bytes go to the request's sink
    };

  private:
    std::string key_of(const std::string& relative) const;
    std::string url_of(const std::string& key, const std::string& query) const;
    Result<std::vector<std::string>> list_keys(const std::string& key_prefix);
    // Sends a request, retrying transient failures; a response with a non-2xx status that is not
    // retried (or still failing after the retries) is returned for the caller to interpret.
    Result<Response> perform(const Request& request);
    Error http_error(const std::string& what, const Response& response) const;
    std::string scrub(std::string text) const;

    void* acquire_handle();
    void release_handle(void* handle);

    Settings m_settings;
    std::mutex m_pool_mutex;
    std::vector<void*> m_idle_handles;
};

// Parts of an S3 XML answer (ListObjectsV2, errors), read without an XML library: the documents
// are flat and mlo needs a few elements. Entities (&amp; &lt; &gt; &quot; &apos;) are decoded.
std::vector<std::string> xml_elements(std::string_view xml, std::string_view tag);
std::string xml_element(std::string_view xml, std::string_view tag);

} // namespace mlo::remote
