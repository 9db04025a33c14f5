#include <algorithm>
#include <mlo/remote/remote_url.hpp>

namespace mlo::remote {

namespace {

bool is_safe_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!-_.*'()").find(c) != std::string_view::npos;
}

bool is_valid_bucket(std::string_view bucket) {
    if (bucket.size() < 3 || bucket.size() > 63)
        return false;
    auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'; };
    if (!std::all_of(bucket.begin(), bucket.end(), ok))
        return false;
    auto alnum = [](char c) { return c != '.' && c != '-'; };
    return alnum(bucket.front()) && alnum(bucket.back()) && bucket.find("..") == std::string_view::npos;
}

} // namespace

bool is_s3_url(std::string_view url) {
    return url.substr(0, 5) == "s3://";
}

Result<S3Location> parse_s3_url(std::string_view url) {
    auto bad = [&](const std::string& why) {
        return fail(ErrorCode::input, "remote url '" + std::string(url) + "': " + why,
                    "an S3 remote is s3://bucket or s3://bucket/prefix");
    };
    if (!is_s3_url(url))
        return bad("not an s3:// url");
    std::string_view rest = url.substr(5);
    size_t slash = rest.find('/');
    S3Location location;
    location.bucket = std::string(rest.substr(0, slash));
    if (!is_valid_bucket(location.bucket))
        return bad("'" + location.bucket + "' is not a valid bucket name (3-63 of a-z 0-9 . -)");
    if (slash == std::string_view::npos)
        return location;
    std::string_view prefix = rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/')
        prefix.remove_suffix(1);
    size_t start = 0;
    while (start < prefix.size()) {
        size_t end = prefix.find('/', start);
        if (end == std::string_view::npos)
            end = prefix.size();
        std::string_view segment = prefix.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == "..")
            return bad("the prefix has an empty, '.' or '..' segment");
        if (!std::all_of(segment.begin(), segment.end(), is_safe_key_char))
            return bad("the prefix may hold only A-Z a-z 0-9 ! - _ . * ' ( ) and '/'");
        start = end + 1;
    }
    location.prefix = std::string(prefix);
    return location;
}

Result<Endpoint> parse_endpoint(std::string_view text) {
    auto bad = [&](const std::string& why) {
        return fail(ErrorCode::input, "endpoint '" + std::string(text) + "': " + why,
                    "an endpoint is http://host:port or https://host");
    };
    Endpoint endpoint;
    std::string_view rest;
    if (text.substr(0, 7) == "http://") {
        endpoint.scheme = "http";
        rest = text.substr(7);
    } else if (text.substr(0, 8) == "https://") {
        endpoint.scheme = "https";
        rest = text.substr(8);
    } else {
        return bad("it must start with http:// or https://");
    }
    while (!rest.empty() && rest.back() == '/')
        rest.remove_suffix(1);
    if (rest.empty())
        return bad("no host");
    auto ok = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-' || c == ':' || c == '[' || c == ']';
    };
    if (!std::all_of(rest.begin(), rest.end(), ok))
        return bad("only a host and a port are allowed (no path, query or credentials)");
    endpoint.authority = std::string(rest);
    return endpoint;
}

std::string uri_encode(std::string_view text, bool keep_slash) {
    static const char* k_hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                          c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved || (keep_slash && c == '/')) {
            out += c;
        } else {
            out += '%';
            out += k_hex[u >> 4];
            out += k_hex[u & 0xf];
        }
    }
    return out;
}

} // namespace mlo::remote
