#pragma once

#include <string>
#include <string_view>

namespace mlo::util {

// Text made safe for HTML element content and quoted attribute values: & < > " ' escaped.
std::string escape_html(std::string_view text);

} // namespace mlo::util
