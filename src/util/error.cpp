#include <cstring>
#include <mlo/util/error.hpp>

namespace mlo {

Error system_error(const std::string& what, int errno_value) {
    // ENOENT and EACCES are about the user's input; anything else is unexpected.
    ErrorCode code = (errno_value == ENOENT || errno_value == EACCES || errno_value == ENOTDIR ||
                      errno_value == EISDIR || errno_value == ENOSPC || errno_value == EROFS)
                         ? ErrorCode::input
                         : ErrorCode::internal;
    return Error{code, what + ": " + std::strerror(errno_value), {}};
}

} // namespace mlo
