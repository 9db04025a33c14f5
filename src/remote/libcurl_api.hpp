#pragma once

// libcurl is loaded with dlopen() on the first S3 transfer instead of being linked, like libgit2
// (src/git/libgit2_api.hpp): it and what it needs (nghttp2, libssh2, librtmp, LDAP, Kerberos...)
// would cost the dynamic loader milliseconds at every start, and only push, pull and fetch to an
// S3 remote use it. Every libcurl function mlo calls is listed here once.

// curl.h turns curl_easy_setopt into a type-checking macro under GCC, which would also expand
// `api.curl_easy_setopt(...)`; the table's members are plain function pointers.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <mlo/util/error.hpp>

namespace mlo::remote::detail {

// clang-format off
#define MLO_LIBCURL_FUNCTIONS(X) \
    X(curl_global_init) \
    X(curl_easy_init) \
    X(curl_easy_cleanup) \
    X(curl_easy_reset) \
    X(curl_easy_setopt) \
    X(curl_easy_perform) \
    X(curl_easy_getinfo) \
    X(curl_easy_strerror) \
    X(curl_slist_append) \
    X(curl_slist_free_all) \
    X(curl_version_info)
// clang-format on

struct LibcurlApi {
#define MLO_LIBCURL_MEMBER(name) decltype(&::name) name = nullptr;
    MLO_LIBCURL_FUNCTIONS(MLO_LIBCURL_MEMBER)
#undef MLO_LIBCURL_MEMBER
};

// Loads libcurl once (thread-safe) and initialises it. Failure is ErrorCode::internal with a hint
// naming the Debian package.
Result<const LibcurlApi*> load_libcurl();

} // namespace mlo::remote::detail
