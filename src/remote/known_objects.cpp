#include <mlo/remote/known_objects.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::remote {

namespace {
constexpr std::string_view k_header = "mlo.remote-known/1\t";
}

KnownObjects KnownObjects::load(const std::filesystem::path& mlo_dir, const std::string& remote_name,
                                const std::string& location) {
    KnownObjects known;
    known.m_path = mlo_dir / "remotes" / remote_name / "known";
    known.m_location = location;
    auto text = util::read_file(known.m_path);
    if (!text)
        return known;
    std::string_view rest = *text;
    size_t newline = rest.find('\n');
    if (newline == std::string_view::npos || rest.substr(0, newline) != std::string(k_header) + location)
        return known; // another location (or damaged): start from nothing
    rest.remove_prefix(newline + 1);
    known.m_ids.reserve(rest.size() / 65);
    while (rest.size() >= 65) {
        if (auto id = hash::ObjectId::parse_hex(rest.substr(0, 64)); id && rest[64] == '\n')
            known.m_ids.insert(*id);
        rest.remove_prefix(65);
    }
    return known;
}

Status KnownObjects::save() {
    if (!m_changed)
        return {};
    std::string text = std::string(k_header) + m_location + "\n";
    text.reserve(text.size() + m_ids.size() * 65);
    for (const auto& id : m_ids) {
        text += id.hex();
        text += '\n';
    }
    std::error_code ec;
    std::filesystem::create_directories(m_path.parent_path(), ec);
    MLO_TRY(util::write_file_atomic(m_path, text));
    m_changed = false;
    return {};
}

} // namespace mlo::remote
