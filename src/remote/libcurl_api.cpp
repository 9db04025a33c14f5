#include "libcurl_api.hpp"

#include <dlfcn.h>
#include <mutex>
#include <string>

namespace mlo::remote::detail {

namespace {
LibcurlApi g_api;
std::string g_load_error;

void load_once() {
    void* handle = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
        handle = ::dlopen("libcurl.so", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = ::dlerror();
        g_load_error = std::string("cannot load libcurl (libcurl.so.4): ") + (why ? why : "unknown error");
        return;
    }
#define MLO_LIBCURL_RESOLVE(name)                                                                            \
    g_api.name = reinterpret_cast<decltype(&::name)>(::dlsym(handle, #name));                                \
    if (g_api.name == nullptr) {                                                                             \
        g_load_error = "the installed libcurl lacks " #name;                                                 \
        return;                                                                                              \
    }
    MLO_LIBCURL_FUNCTIONS(MLO_LIBCURL_RESOLVE)
#undef MLO_LIBCURL_RESOLVE
    // SigV4 signing (CURLOPT_AWS_SIGV4) arrived in 7.75; Debian 12 ships 7.88.
    const curl_version_info_data* info = g_api.curl_version_info(CURLVERSION_NOW);
    if (info == nullptr || info->version_num < 0x074b00) {
        g_load_error = std::string("libcurl ") + (info ? info->version : "?") +
                       " is too old for S3 remotes (SigV4 signing needs 7.75 or later)";
        return;
    }
    // Once, before any thread starts a transfer (curl_global_init is not thread-safe in 7.88);
    // never cleaned up: the OS reclaims everything at exit.
    if (g_api.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        g_load_error = "libcurl failed to initialise";
}
} // namespace

Result<const LibcurlApi*> load_libcurl() {
    static std::once_flag once;
    std::call_once(once, load_once);
    if (!g_load_error.empty())
        return fail(ErrorCode::internal, g_load_error, "install Debian's libcurl4 package");
    return &g_api;
}

} // namespace mlo::remote::detail
