#pragma once

#include <mlo/util/error.hpp>
#include <string>
#include <string_view>

namespace mlo::remote {

// `s3://bucket/prefix` split into its parts. The prefix has no leading or trailing '/'.
struct S3Location {
    std::string bucket;
    std::string prefix;
};

// Whether a remote url names S3-compatible storage (starts with "s3://").
bool is_s3_url(std::string_view url);

// Parses `s3://bucket[/prefix]`. The bucket must be a valid S3 bucket name (3-63 of a-z 0-9 . -)
// and the prefix made of safe key characters (A-Z a-z 0-9 ! - _ . * ' ( ) and '/' between
// non-empty segments that are not "." or ".."), so keys never need escaping and never climb.
// Problems are ErrorCode::input naming the url.
Result<S3Location> parse_s3_url(std::string_view url);

// An endpoint `http[s]://host[:port][/]`. Anything else (a path, a query, credentials in the url)
// is ErrorCode::input.
struct Endpoint {
    std::string scheme;    // "http" or "https"
    std::string authority; // host[:port]
    std::string base() const { return scheme + "://" + authority; }
};
Result<Endpoint> parse_endpoint(std::string_view text);

// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~), as SigV4
// wants query values encoded; '/' is kept when `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);

} // namespace mlo::remote
