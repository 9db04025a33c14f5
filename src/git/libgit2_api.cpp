#include "libgit2_api.hpp"

#include <dlfcn.h>
#include <mutex>

namespace mlo::git::detail {

namespace {
Libgit2Api g_api;
std::string g_load_error;

void load_once() {
    // The soname of the libgit2 mlo was built against (from pkg-config), then the unversioned name.
    void* handle = ::dlopen(MLO_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
        handle = ::dlopen("libgit2.so", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = ::dlerror();
        g_load_error =
            std::string("cannot load libgit2 (" MLO_LIBGIT2_SONAME "): ") + (why ? why : "unknown error");
        return;
    }
#define MLO_LIBGIT2_RESOLVE(name)                                                                            \
    g_api.name = reinterpret_cast<decltype(&::name)>(::dlsym(handle, #name));                                \
    if (g_api.name == nullptr) {                                                                             \
        g_load_error = "the installed libgit2 lacks " #name;                                                 \
        return;                                                                                              \
    }
    MLO_LIBGIT2_FUNCTIONS(MLO_LIBGIT2_RESOLVE)
#undef MLO_LIBGIT2_RESOLVE
    // Initialised once and never shut down: Repository objects may outlive any scope, and the OS
    // reclaims everything at exit.
    g_api.git_libgit2_init();
}
} // namespace

Result<const Libgit2Api*> load_libgit2() {
    static std::once_flag once;
    std::call_once(once, load_once);
    if (!g_load_error.empty())
        return fail(ErrorCode::internal, g_load_error, "install Debian's libgit2-1.5 package");
    return &g_api;
}

const Libgit2Api& libgit2() {
    return g_api;
}

} // namespace mlo::git::detail
