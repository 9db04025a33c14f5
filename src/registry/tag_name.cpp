#include <algorithm>
#include <charconv>
#include <mlo/registry/tag_name.hpp>

namespace mlo::registry {

namespace {

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A decimal number without sign or leading zeros ("0" itself is fine).
std::optional<uint64_t> parse_number(std::string_view text) {
    if (text.empty() || (text.size() > 1 && text[0] == '0'))
        return std::nullopt;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<SemVer> parse_version(std::string_view text) {
    if (text.size() < 2 || text[0] != 'v')
        return std::nullopt;
    text.remove_prefix(1);
    size_t first = text.find('.');
    size_t second = first == std::string_view::npos ? first : text.find('.', first + 1);
    if (second == std::string_view::npos)
        return std::nullopt;
    auto major = parse_number(text.substr(0, first));
    auto minor = parse_number(text.substr(first + 1, second - first - 1));
    auto patch = parse_number(text.substr(second + 1));
    if (!major || !minor || !patch)
        return std::nullopt;
    return SemVer{*major, *minor, *patch};
}

} // namespace

Result<SemVer> SemVer::parse(std::string_view text) {
    if (auto version = parse_version(text))
        return *version;
    return fail(ErrorCode::input, "'" + std::string(text) + "' is not a version",
                "versions look like v1.2.3 (numbers without leading zeros)");
}

std::string SemVer::str() const {
    return "v" + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

SemVer next_version(const std::optional<SemVer>& latest, Bump bump) {
    if (!latest)
        return bump == Bump::major   ? SemVer{1, 0, 0}
               : bump == Bump::minor ? SemVer{0, 1, 0}
                                     : SemVer{0, 0, 1};
    switch (bump) {
    case Bump::major:
        return SemVer{latest->major + 1, 0, 0};
    case Bump::minor:
        return SemVer{latest->major, latest->minor + 1, 0};
    case Bump::patch:
        break;
    }
    return SemVer{latest->major, latest->minor, latest->patch + 1};
}

bool valid_name(std::string_view name) {
    if (name.empty() || !is_alnum(name.front()) || !is_alnum(name.back()))
        return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alnum(c) || c == '-' || c == '/' || c == '_'; });
}

std::string RegistryTag::str() const {
    switch (kind) {
    case TagKind::register_version:
        return model + "@" + version.str();
    case TagKind::deregister_version:
        return model + "@" + version.str() + "!";
    case TagKind::assign:
        return model + "#" + stage + "#" + std::to_string(counter);
    case TagKind::unassign:
        return model + "#" + stage + "!#" + std::to_string(counter);
    case TagKind::deprecate_model:
        break;
    }
    return model + "@deprecated";
}

std::optional<RegistryTag> RegistryTag::parse(std::string_view name) {
    size_t split = name.find_first_of("@#");
    if (split == std::string_view::npos)
        return std::nullopt;
    RegistryTag tag;
    tag.model = std::string(name.substr(0, split));
    if (!valid_name(tag.model))
        return std::nullopt;
    std::string_view rest = name.substr(split + 1);
    if (name[split] == '@') {
        if (rest == "deprecated") {
            tag.kind = TagKind::deprecate_model;
            return tag;
        }
        tag.kind = TagKind::register_version;
        if (!rest.empty() && rest.back() == '!') {
            tag.kind = TagKind::deregister_version;
            rest.remove_suffix(1);
        }
        auto version = parse_version(rest);
        if (!version)
            return std::nullopt;
        tag.version = *version;
        return tag;
    }
    // STAGE#N or STAGE!#N
    size_t hash = rest.rfind('#');
    if (hash == std::string_view::npos)
        return std::nullopt;
    std::string_view stage = rest.substr(0, hash);
    tag.kind = TagKind::assign;
    if (!stage.empty() && stage.back() == '!') {
        tag.kind = TagKind::unassign;
        stage.remove_suffix(1);
    }
    auto counter = parse_number(rest.substr(hash + 1));
    if (!valid_name(stage) || !counter)
        return std::nullopt;
    tag.stage = std::string(stage);
    tag.counter = *counter;
    return tag;
}

std::string ModelRef::str() const {
    if (version)
        return model + "@" + version->str();
    if (!stage.empty())
        return model + "#" + stage;
    return model;
}

Result<ModelRef> ModelRef::parse(std::string_view text) {
    auto bad = [&](const std::string& why) {
        return fail(ErrorCode::usage, "'" + std::string(text) + "' " + why,
                    "name a model as MODEL, MODEL@v1.2.3, MODEL@latest or MODEL#STAGE");
    };
    ModelRef ref;
    size_t split = text.find_first_of("@#");
    ref.model = std::string(text.substr(0, split));
    if (!valid_name(ref.model))
        return bad("does not start with a valid model name");
    if (split == std::string_view::npos)
        return ref;
    std::string_view rest = text.substr(split + 1);
    if (text[split] == '#') {
        if (!valid_name(rest))
            return bad("does not name a valid stage after '#'");
        ref.stage = std::string(rest);
        return ref;
    }
    if (rest == "latest")
        return ref;
    auto version = parse_version(rest);
    if (!version)
        return bad("does not name a version after '@' (versions look like v1.2.3)");
    ref.version = *version;
    return ref;
}

} // namespace mlo::registry
