#pragma once

#include <mlo/util/error.hpp>
#include <string>
#include <string_view>

namespace mlo::store {

// How tracked files are placed in the workspace (SPEC.md section 4).
//  auto     reflink where the filesystem can (copy-on-write, instant, independent), else copy
//  reflink  reflink or fail
//  hardlink the workspace file is the object itself: instant, no extra space, read-only
//  symlink  the workspace file points at the object: read-only
//  copy     an independent, writable copy
enum class LinkMode { auto_, reflink, hardlink, symlink, copy };

std::string to_string(LinkMode mode);
Result<LinkMode> parse_link_mode(std::string_view text);

} // namespace mlo::store
