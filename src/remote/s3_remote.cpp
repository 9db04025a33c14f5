// S3 over libcurl.
//
// Signing is libcurl's (CURLOPT_AWS_SIGV4, "aws:amz:<region>:s3"), given the access key and secret
// as user name and password. libcurl 7.88 hashes only an in-memory request body for the payload
// hash, and takes the hash from an x-amz-content-sha256 header when the request carries one;
// mlo always sends that header (S3 itself requires it, and so does s3rver): the empty body's hash
// for GET, HEAD and listings, and the object id — the SHA-256 of exactly the bytes sent — for
// uploads, which therefore stream from the file while still being signed.
//
// Query strings are built already in SigV4's canonical form (parameters sorted, values
// percent-encoded), so the signature does not depend on whether libcurl re-sorts them.
//
// Retries: a transport failure (refused, reset, timed out, nothing received), 408, 429 and 5xx are
// retried with jittered exponential backoff; a download restarts from its first byte (the sink is
// reset) and an upload re-reads its file.
#include "libcurl_api.hpp"

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <mlo/hash/sha256.hpp>
#include <mlo/remote/s3_remote.hpp>
#include <mlo/util/file_io.hpp>
#include <mlo/util/parallel.hpp>
#include <random>
#include <thread>
#include <unistd.h>

namespace mlo::remote {

namespace {

using detail::LibcurlApi;

constexpr const char* k_empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr size_t k_max_error_body = 64 * 1024;

const LibcurlApi& curl() {
    // load_libcurl() succeeded in S3Remote's construction path (open_remote checks it first).
    return **detail::load_libcurl();
}

std::string xml_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '&') {
            out += text[i];
            continue;
        }
        static const std::pair<std::string_view, char> k_entities[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool decoded = false;
        for (const auto& [entity, c] : k_entities) {
            if (text.substr(i, entity.size()) == entity) {
                out += c;
                i += entity.size() - 1;
                decoded = true;
                break;
            }
        }
        if (!decoded)
            out += '&';
    }
    return out;
}

bool is_transient(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

double random01() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

} // namespace

std::vector<std::string> xml_elements(std::string_view xml, std::string_view tag) {
    std::vector<std::string> values;
    std::string open = "<" + std::string(tag) + ">";
    std::string close = "</" + std::string(tag) + ">";
    size_t pos = 0;
    for (;;) {
        size_t start = xml.find(open, pos);
        if (start == std::string_view::npos)
            break;
        start += open.size();
        size_t end = xml.find(close, start);
        if (end == std::string_view::npos)
            break;
        values.push_back(xml_decode(xml.substr(start, end - start)));
        pos = end + close.size();
    }
    return values;
}

std::string xml_element(std::string_view xml, std::string_view tag) {
    auto values = xml_elements(xml, tag);
    return values.empty() ? std::string() : values.front();
}

// One HTTP request. Exactly one of the body targets is used: `sink` for object downloads,
// the response's body otherwise.
struct S3Remote::Request {
    std::string method = "GET"; // GET, HEAD, PUT
    std::string key;            // full object key ("" = the bucket, for listings)
    std::string query;          // canonical query string, without '?'
    std::string what;           // for messages: "uploading sha256:..."
    const ByteSink* sink = nullptr;
    // Upload body: a file (streamed) or bytes in memory; with its SHA-256 (hex).
    const fs::path* upload_file = nullptr;
    std::string_view upload_bytes;
    uint64_t upload_size = 0;
    std::string payload_sha256 = k_empty_sha256;
    int max_attempts = 0; // 0 = the remote's retry policy
};

namespace {

// What the curl callbacks of one attempt share.
struct Transfer {
    const S3Remote::Request* request = nullptr;
    S3Remote::Response* response = nullptr;
    void* handle = nullptr;
    int upload_fd = -1;
    size_t upload_offset = 0; // for in-memory bodies
    std::optional<Error> sink_error;
    bool streaming = false; // deciding per response whether bytes go to the sink
    bool decided = false;
};

size_t on_write(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    size_t bytes = size * count;
    if (!transfer->decided) {
        long status = 0;
        curl().curl_easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
        transfer->streaming = transfer->request->sink != nullptr && status >= 200 && status < 300;
        transfer->decided = true;
    }
    if (transfer->streaming) {
        if (auto ok = transfer->request->sink->write(std::string_view(data, bytes)); !ok) {
            transfer->sink_error = std::move(ok).error();
            return 0; // makes libcurl stop with CURLE_WRITE_ERROR
        }
        return bytes;
    }
    if (transfer->response->body.size() < k_max_error_body)
        transfer->response->body.append(data,
                                        std::min(bytes, k_max_error_body - transfer->response->body.size()));
    return bytes;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    size_t want = size * count;
    if (transfer->upload_fd >= 0) {
        for (;;) {
            ssize_t n = ::read(transfer->upload_fd, buffer, want);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return CURL_READFUNC_ABORT;
            return static_cast<size_t>(n);
        }
    }
    std::string_view bytes = transfer->request->upload_bytes;
    size_t n = std::min(want, bytes.size() - transfer->upload_offset);
    std::memcpy(buffer, bytes.data() + transfer->upload_offset, n);
    transfer->upload_offset += n;
    return n;
}

// libcurl rewinds an upload when it must send it again on a fresh connection (the kept-alive one
// was closed by the server just as the request went out).
int on_seek(void* user, curl_off_t offset, int origin) {
    auto* transfer = static_cast<Transfer*>(user);
    if (origin != SEEK_SET || offset < 0)
        return CURL_SEEKFUNC_CANTSEEK;
    if (transfer->upload_fd >= 0)
        return ::lseek(transfer->upload_fd, offset, SEEK_SET) == offset ? CURL_SEEKFUNC_OK
                                                                        : CURL_SEEKFUNC_FAIL;
    if (static_cast<size_t>(offset) > transfer->request->upload_bytes.size())
        return CURL_SEEKFUNC_FAIL;
    transfer->upload_offset = static_cast<size_t>(offset);
    return CURL_SEEKFUNC_OK;
}

} // namespace

S3Remote::S3Remote(Settings settings)
    : Remote(settings.name, settings.jobs), m_settings(std::move(settings)) {}

S3Remote::~S3Remote() {
    for (void* handle : m_idle_handles)
        curl().curl_easy_cleanup(handle);
}

std::string S3Remote::location() const {
    return m_settings.url + (m_settings.endpoint ? " at " + m_settings.endpoint->base() : "");
}

void* S3Remote::acquire_handle() {
    {
        std::lock_guard lock(m_pool_mutex);
        if (!m_idle_handles.empty()) {
            void* handle = m_idle_handles.back();
            m_idle_handles.pop_back();
            return handle;
        }
    }
    return curl().curl_easy_init();
}

void S3Remote::release_handle(void* handle) {
    std::lock_guard lock(m_pool_mutex);
    m_idle_handles.push_back(handle);
}

std::string S3Remote::key_of(const std::string& relative) const {
    return m_settings.location.prefix.empty() ? relative : m_settings.location.prefix + "/" + relative;
}

std::string S3Remote::url_of(const std::string& key, const std::string& query) const {
    std::string url;
    const auto& bucket = m_settings.location.bucket;
    if (m_settings.endpoint)
        url = m_settings.endpoint->base() + "/" + bucket + "/" + uri_encode(key, true);
    else if (bucket.find('.') != std::string::npos) // dots break the wildcard certificate
        url = "https://s3." + m_settings.region + ".amazonaws.com/" + bucket + "/" + uri_encode(key, true);
    else
        url = "https://" + bucket + ".s3." + m_settings.region + ".amazonaws.com/" + uri_encode(key, true);
    if (!query.empty())
        url += "?" + query;
    return url;
}

std::string S3Remote::scrub(std::string text) const {
    // Servers echo parts of a request in their errors; whatever they echo, no secret leaves.
    for (const std::string* secret :
         {&m_settings.credentials.secret_access_key, &m_settings.credentials.session_token,
          &m_settings.credentials.access_key_id}) {
        if (secret->empty())
            continue;
        for (size_t pos; (pos = text.find(*secret)) != std::string::npos;)
            text.replace(pos, secret->size(), "<redacted>");
    }
    return text;
}

Result<S3Remote::Response> S3Remote::perform(const Request& request) {
    const LibcurlApi& api = curl();
    std::string url = url_of(request.key, request.query);
    std::string sigv4 = "aws:amz:" + m_settings.region + ":s3";
    for (int attempt = 0;; ++attempt) {
        Response response;
        void* handle = acquire_handle();
        if (handle == nullptr)
            return fail(ErrorCode::internal, "libcurl could not create a handle");
        api.curl_easy_reset(handle); // keeps the handle's open connection
        Transfer transfer;
        transfer.request = &request;
        transfer.response = &response;
        transfer.handle = handle;
        util::UniqueFd upload_fd;
        if (request.sink && attempt > 0)
            MLO_TRY(request.sink->reset());
        if (request.upload_file) {
            upload_fd = util::UniqueFd(::open(request.upload_file->c_str(), O_RDONLY | O_CLOEXEC));
            if (!upload_fd) {
                release_handle(handle);
                return fail(system_error("cannot read " + request.upload_file->string(), errno));
            }
            transfer.upload_fd = upload_fd.get();
        }

        curl_slist* headers = nullptr;
        headers = api.curl_slist_append(headers, ("x-amz-content-sha256: " + request.payload_sha256).c_str());
        if (!m_settings.credentials.session_token.empty())
            headers = api.curl_slist_append(
                headers, ("x-amz-security-token: " + m_settings.credentials.session_token).c_str());
        if (request.method == "PUT") {
            headers = api.curl_slist_append(headers, "Content-Type: application/octet-stream");
            headers = api.curl_slist_append(headers, "Expect:"); // no 100-continue round trip
        }

        api.curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
        api.curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
        api.curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
        api.curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 10L);
        // A stalled connection (under 1 byte/s for 60 s) is dropped and retried.
        api.curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
        api.curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 60L);
        api.curl_easy_setopt(handle, CURLOPT_AWS_SIGV4, sigv4.c_str());
        api.curl_easy_setopt(handle, CURLOPT_USERNAME, m_settings.credentials.access_key_id.c_str());
        api.curl_easy_setopt(handle, CURLOPT_PASSWORD, m_settings.credentials.secret_access_key.c_str());
        api.curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
        api.curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_write);
        api.curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
        if (request.method == "HEAD") {
            api.curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
        } else if (request.method == "PUT") {
            api.curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
            api.curl_easy_setopt(handle, CURLOPT_READFUNCTION, on_read);
            api.curl_easy_setopt(handle, CURLOPT_READDATA, &transfer);
            api.curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, on_seek);
            api.curl_easy_setopt(handle, CURLOPT_SEEKDATA, &transfer);
            api.curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE,
                                 static_cast<curl_off_t>(request.upload_size));
        }

        CURLcode code = api.curl_easy_perform(handle);
        api.curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
        api.curl_slist_free_all(headers);
        release_handle(handle);

        if (transfer.sink_error)
            return fail(std::move(*transfer.sink_error));
        Outcome outcome = code != CURLE_OK ? (is_transient(code) ? Outcome::retry : Outcome::give_up)
                                           : classify_http_status(response.status);
        if (outcome == Outcome::success)
            return response;
        bool may_retry = request.max_attempts == 0
                             ? m_settings.retry.should_retry(attempt + 1, outcome)
                             : outcome == Outcome::retry && attempt + 1 < request.max_attempts;
        if (may_retry) {
            std::this_thread::sleep_for(m_settings.retry.delay(attempt, random01()));
            continue;
        }
        if (code != CURLE_OK) {
            std::string why = api.curl_easy_strerror(code);
            return fail(ErrorCode::failure,
                        "remote '" + name() + "': " + request.what + ": " + scrub(why) +
                            (attempt > 0 ? " (after " + std::to_string(attempt + 1) + " attempts)" : ""),
                        m_settings.endpoint ? "is the server at " + m_settings.endpoint->base() + " running?"
                                            : "");
        }
        if (outcome == Outcome::retry && attempt > 0)
            response.body += "\n (after " + std::to_string(attempt + 1) + " attempts)";
        return response;
    }
}

Error S3Remote::http_error(const std::string& what, const Response& response) const {
    std::string code = xml_element(response.body, "Code");
    std::string message = xml_element(response.body, "Message");
    std::string detail = "HTTP " + std::to_string(response.status);
    if (!code.empty())
        detail += " " + code;
    if (!message.empty())
        detail += ": " + message;
    if (auto after = response.body.find("\n (after "); after != std::string::npos)
        detail += response.body.substr(after + 1);
    std::string prefix = "remote '" + name() + "': " + what + ": ";
    static const char* k_credential_codes[] = {
        "InvalidAccessKeyId", "SignatureDoesNotMatch",        "AccessDenied",        "ExpiredToken",
        "InvalidToken",       "AuthorizationHeaderMalformed", "InvalidClientTokenId"};
    bool credential_problem = response.status == 401 || response.status == 403;
    for (const char* k : k_credential_codes)
        credential_problem = credential_problem || code == k;
    if (credential_problem)
        return Error{ErrorCode::usage, scrub(prefix + "the server refused the credentials (" + detail + ")"),
                     "check the AWS credentials (from " + m_settings.credentials.source + ") for " +
                         m_settings.url};
    if (code == "NoSuchBucket")
        return Error{
            ErrorCode::input,
            scrub(prefix + "bucket '" + m_settings.location.bucket + "' does not exist (" + detail + ")"),
            "create it, or correct the url of remote '" + name() + "' in mlo.yaml"};
    return Error{ErrorCode::failure, scrub(prefix + detail), {}};
}

Result<std::vector<std::string>> S3Remote::list_keys(const std::string& key_prefix) {
    std::vector<std::string> keys;
    std::string token;
    for (;;) {
        Request request;
        request.what = "listing " + key_prefix;
        // Sorted by parameter name: continuation-token < list-type < prefix.
        if (!token.empty())
            request.query = "continuation-token=" + uri_encode(token, false) + "&";
        request.query += "list-type=2&prefix=" + uri_encode(key_prefix, false);
        auto response = perform(request);
        if (!response)
            return fail(std::move(response).error());
        if (response->status < 200 || response->status >= 300)
            return fail(http_error(request.what, *response));
        for (auto& key : xml_elements(response->body, "Key"))
            keys.push_back(std::move(key));
        if (xml_element(response->body, "IsTruncated") != "true")
            return keys;
        token = xml_element(response->body, "NextContinuationToken");
        if (token.empty())
            return fail(ErrorCode::failure,
                        "remote '" + name() + "': a truncated listing without a continuation token");
    }
}

Result<std::vector<ObjectId>> S3Remote::list_objects() {
    // One listing per first byte of the id, in parallel: 256 small listings over `jobs`
    // connections instead of one long chain of 1,000-key pages.
    std::string base = key_of("objects/sha256/");
    // A small or empty remote answers in one page; only a larger one is listed in parallel.
    Request probe;
    probe.what = "listing " + base;
    probe.query = "list-type=2&prefix=" + uri_encode(base, false);
    probe.max_attempts = 1;
    auto first = perform(probe);
    if (!first)
        return fail(std::move(first).error());
    if (first->status != 200) {
        Error error = http_error(probe.what, *first);
        if (error.code != ErrorCode::failure)
            return fail(std::move(error)); // credentials, no bucket: the prefix listings would say the same
        // A server that fails a long listing (s3rver under Node 17+ cannot make continuation
        // tokens) may still answer the short ones below.
    }
    bool one_page = first->status == 200 && xml_element(first->body, "IsTruncated") != "true";
    std::vector<std::vector<ObjectId>> found(256);
    static const char* k_digits = "0123456789abcdef";
    MLO_TRY(util::parallel_for(256, jobs(), [&](size_t prefix) -> Status {
        std::string dir = {k_digits[prefix >> 4], k_digits[prefix & 0xf]};
        Result<std::vector<std::string>> keys = std::vector<std::string>();
        if (one_page) {
            if (prefix == 0)
                keys = xml_elements(first->body, "Key");
        } else {
            keys = list_keys(base + dir + "/");
        }
        if (!keys)
            return fail(std::move(keys).error());
        for (const auto& key : *keys) {
            // Keys that are not object names are skipped, never trusted.
            if (key.size() != base.size() + 65 || key.compare(0, base.size(), base) != 0)
                continue;
            std::string hex = key.substr(base.size(), 2) + key.substr(base.size() + 3);
            if (key[base.size() + 2] != '/')
                continue;
            if (auto id = ObjectId::parse_hex(hex))
                found[prefix].push_back(*id);
        }
        return {};
    }));
    std::vector<ObjectId> ids;
    for (auto& part : found)
        ids.insert(ids.end(), part.begin(), part.end());
    return ids;
}

Result<bool> S3Remote::has_object(const ObjectId& id) {
    Request request;
    request.method = "HEAD";
    request.key = key_of(object_key(id));
    request.what = "looking up " + id.str();
    auto response = perform(request);
    if (!response)
        return fail(std::move(response).error());
    if (response->status == 404)
        return false;
    if (response->status < 200 || response->status >= 300)
        return fail(http_error(request.what, *response));
    return true;
}

Status S3Remote::put_object(const ObjectId& id, const fs::path& source, uint64_t size) {
    Request request;
    request.method = "PUT";
    request.key = key_of(object_key(id));
    request.what = "uploading " + id.str();
    request.upload_file = &source;
    request.upload_size = size;
    request.payload_sha256 = id.hex();
    auto response = perform(request);
    if (!response)
        return fail(std::move(response).error());
    if (response->status < 200 || response->status >= 300)
        return fail(http_error(request.what, *response));
    return {};
}

Status S3Remote::get_object(const ObjectId& id, const ByteSink& sink) {
    Request request;
    request.key = key_of(object_key(id));
    request.what = "downloading " + id.str();
    request.sink = &sink;
    auto response = perform(request);
    if (!response)
        return fail(std::move(response).error());
    if (response->status == 404 && xml_element(response->body, "Code") != "NoSuchBucket")
        return fail(ErrorCode::input, "object " + id.str() + " is not on remote '" + name() + "'");
    if (response->status < 200 || response->status >= 300)
        return fail(http_error(request.what, *response));
    return {};
}

Result<std::vector<std::string>> S3Remote::list_refs(const std::string& dir) {
    std::string base = key_of("refs/" + dir + "/");
    auto keys = list_keys(base);
    if (!keys)
        return fail(std::move(keys).error());
    std::vector<std::string> names;
    for (const auto& key : *keys) {
        std::string rest = key.substr(std::min(key.size(), base.size()));
        if (key.compare(0, base.size(), base) == 0 && !rest.empty() && rest.find('/') == std::string::npos)
            names.push_back(rest);
    }
    return names;
}

Result<std::optional<std::string>> S3Remote::get_ref(const std::string& path) {
    Request request;
    request.key = key_of("refs/" + path);
    request.what = "reading refs/" + path;
    std::string bytes;
    ByteSink sink{[&](std::string_view chunk) -> Status {
                      if (bytes.size() + chunk.size() > (1u << 20))
                          return fail(ErrorCode::failure,
                                      "remote '" + name() + "': refs/" + path + " is too large");
                      bytes.append(chunk);
                      return {};
                  },
                  [&]() -> Status {
                      bytes.clear();
                      return {};
                  }};
    request.sink = &sink;
    auto response = perform(request);
    if (!response)
        return fail(std::move(response).error());
    if (response->status == 404 && xml_element(response->body, "Code") != "NoSuchBucket")
        return std::optional<std::string>();
    if (response->status < 200 || response->status >= 300)
        return fail(http_error(request.what, *response));
    return std::optional<std::string>(std::move(bytes));
}

Status S3Remote::put_ref(const std::string& path, std::string_view bytes) {
    Request request;
    request.method = "PUT";
    request.key = key_of("refs/" + path);
    request.what = "writing refs/" + path;
    request.upload_bytes = bytes;
    request.upload_size = bytes.size();
    request.payload_sha256 = hash::sha256_of(bytes).hex();
    auto response = perform(request);
    if (!response)
        return fail(std::move(response).error());
    if (response->status < 200 || response->status >= 300)
        return fail(http_error(request.what, *response));
    return {};
}

} // namespace mlo::remote
