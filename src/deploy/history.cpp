#include <ctime>
#include <fcntl.h>
#include <mlo/deploy/history.hpp>
#include <mlo/registry/model_manifest.hpp>
#include <mlo/util/file_io.hpp>
#include <nlohmann/json.hpp>

namespace mlo::deploy {

namespace fs = std::filesystem;
using nlohmann::json;

Status DeployHistory::append(const DeployEvent& event) const {
    json line = {{"time", event.time},         {"actor", event.actor},
                 {"action", event.action},     {"model", event.model},
                 {"version", event.version},   {"previous", event.previous},
                 {"strategy", event.strategy}, {"outcome", event.outcome},
                 {"message", event.message},   {"full_traffic", event.full_traffic}};
    std::error_code ec;
    fs::create_directories(m_file.parent_path(), ec);
    util::UniqueFd fd(::open(m_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd)
        return fail(system_error("cannot open " + m_file.string(), errno));
    // One write of the whole line: O_APPEND keeps concurrent lines apart.
    return util::write_all(fd.get(), line.dump() + "\n", m_file);
}

Result<std::vector<DeployEvent>> DeployHistory::read() const {
    std::vector<DeployEvent> events;
    std::error_code ec;
    if (!fs::exists(m_file, ec))
        return events;
    auto text = util::read_file(m_file);
    if (!text)
        return fail(std::move(text).error());
    size_t start = 0, number = 0;
    while (start < text->size()) {
        size_t end = text->find('\n', start);
        if (end == std::string::npos)
            break; // an unterminated last line: a killed append
        ++number;
        json line = json::parse(text->substr(start, end - start), nullptr, false);
        start = end + 1;
        if (line.is_discarded() || !line.is_object())
            return fail(ErrorCode::input,
                        m_file.string() + ": line " + std::to_string(number) + " is not a JSON object");
        DeployEvent event;
        event.time = line.value("time", "");
        event.actor = line.value("actor", "");
        event.action = line.value("action", "");
        event.model = line.value("model", "");
        event.version = line.value("version", "");
        event.previous = line.value("previous", "");
        event.strategy = line.value("strategy", "");
        event.outcome = line.value("outcome", "");
        event.message = line.value("message", "");
        event.full_traffic = line.value("full_traffic", false);
        events.push_back(std::move(event));
    }
    return events;
}

std::optional<std::string> current_full_traffic(const std::vector<DeployEvent>& events) {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (it->action == "stop")
            return std::nullopt;
        if (it->full_traffic)
            return it->version;
    }
    return std::nullopt;
}

std::optional<std::string> rollback_version(const std::vector<DeployEvent>& events) {
    std::optional<std::string> current;
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (!it->full_traffic)
            continue;
        if (!current)
            current = it->version;
        else if (it->version != *current)
            return it->version;
    }
    return std::nullopt;
}

std::string utc_now() {
    return registry::utc_timestamp(static_cast<int64_t>(std::time(nullptr)));
}

} // namespace mlo::deploy
