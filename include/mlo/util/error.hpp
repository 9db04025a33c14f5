#pragma once

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace mlo {

// What kind of failure an error is; the CLI maps each to an exit code in one place
// (SPEC.md section 3): failure -> 1, usage/input -> 2, precondition -> 3, internal -> 70.
enum class ErrorCode {
    failure,      // the operation ran and found a problem (bad object, gate failed)
    usage,        // bad flag or argument
    input,        // bad input file or data: malformed YAML, missing path, corrupt pointer
    precondition, // not a project, store locked, dirty tree
    internal,     // a bug or an unexpected system failure
};

// An error with a message that gains context on the way up ("reading x.mlo: line 3: ...")
// and an optional hint shown on its own line.
struct Error {
    ErrorCode code = ErrorCode::internal;
    std::string message;
    std::string hint;

    // Prefixes context: Error{"bad"}.context("reading a") -> "reading a: bad".
    Error&& context(const std::string& what) && {
        message = what + ": " + message;
        return std::move(*this);
    }
    Error& context(const std::string& what) & {
        message = what + ": " + message;
        return *this;
    }
    Error&& with_hint(std::string text) && {
        hint = std::move(text);
        return std::move(*this);
    }
};

template <typename T> using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message, std::string hint = {}) {
    return tl::unexpected<Error>(Error{code, std::move(message), std::move(hint)});
}
inline tl::unexpected<Error> fail(Error error) {
    return tl::unexpected<Error>(std::move(error));
}

// An error from a failed system call, with strerror(errno) appended.
Error system_error(const std::string& what, int errno_value);

} // namespace mlo

// Propagates an error from an expression returning Result/Status; optionally adds context.
#define MLO_TRY(expr)                                                                                        \
    do {                                                                                                     \
        if (auto mlo_try_result_ = (expr); !mlo_try_result_)                                                 \
            return ::tl::unexpected<::mlo::Error>(std::move(mlo_try_result_).error());                       \
    } while (0)

#define MLO_TRY_CTX(expr, ctx)                                                                               \
    do {                                                                                                     \
        if (auto mlo_try_result_ = (expr); !mlo_try_result_)                                                 \
            return ::tl::unexpected<::mlo::Error>(std::move(mlo_try_result_).error().context(ctx));          \
    } while (0)
