#pragma once

#include <mlo/remote/remote.hpp>

namespace mlo::remote {

// A remote in a local or mounted directory, laid out like the local store (see Remote). Uploads
// are copied into `<root>/tmp/` while being hashed, checked against their id (a damaged local
// object is never published under its name), fsynced and renamed into place, so a reader on
// another machine sees an object complete or not at all.
class DirectoryRemote : public Remote {
  public:
    DirectoryRemote(std::string name, fs::path root, unsigned jobs);

    std::string location() const override { return m_root.string(); }
    Result<std::vector<ObjectId>> list_objects() override;
    Result<bool> has_object(const ObjectId& id) override;
    Status put_object(const ObjectId& id, const fs::path& source, uint64_t size) override;
    Status get_object(const ObjectId& id, const ByteSink& sink) override;
    Result<std::vector<std::string>> list_refs(const std::string& dir) override;
    Result<std::optional<std::string>> get_ref(const std::string& path) override;
    Status put_ref(const std::string& path, std::string_view bytes) override;

  private:
    fs::path object_path(const ObjectId& id) const;
    fs::path m_root;
};

// Whether `path` is a safe '/'-separated relative ref path ("runs/<id>"): no empty, "." or ".."
// segment, only A-Z a-z 0-9 - _ . characters.
bool is_safe_ref_path(std::string_view path);

} // namespace mlo::remote
