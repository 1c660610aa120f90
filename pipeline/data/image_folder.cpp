#include "data/image_folder.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "util/error.hpp"

namespace aepipe::data {
namespace fs = std::filesystem;

bool has_image_extension(const std::string& path) {
  static const std::set<std::string> kExtensions{".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".pgm",
                                                 ".ppm", ".pnm", ".tga",  ".gif", ".psd"};
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return kExtensions.count(extension) > 0;
}

namespace {

struct Found {
  size_t root;
  std::string relative;
  std::string path;
  std::string class_name;  // "" for files directly in the root
};

void scan_root(const std::string& root, size_t root_index, std::vector<Found>& found,
               std::int64_t& ignored) {
  std::error_code error;
  if (fs::is_regular_file(root, error) && has_image_extension(root)) {
    // A single image file given as an input: no class, named as given.
    found.push_back({root_index, root, root, ""});
    return;
  }
  if (!fs::is_directory(root, error)) throw Error(cat("not a folder or an image file: ", root));
  fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, error);
  if (error) throw Error(cat("cannot read folder ", root, ": ", error.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) throw Error(cat("cannot read folder ", root, ": ", error.message()));
    const fs::path& path = it->path();
    const std::string leaf = path.filename().string();
    if (!leaf.empty() && leaf.front() == '.') {
      if (it->is_directory(error)) it.disable_recursion_pending();
      ++ignored;
      continue;
    }
    if (it->is_directory(error)) continue;
    // A FIFO, socket or device named like an image would block its read for ever.
    if (!has_image_extension(leaf) || !it->is_regular_file(error)) {
      ++ignored;
      continue;
    }
    const fs::path relative = path.lexically_relative(root);
    std::string class_name;
    if (std::distance(relative.begin(), relative.end()) > 1)
      class_name = relative.begin()->string();
    found.push_back({root_index, relative.generic_string(), path.string(), class_name});
  }
}

}  // namespace

FolderListing list_image_folders(const std::vector<std::string>& roots) {
  std::vector<Found> found;
  FolderListing listing;
  for (size_t i = 0; i < roots.size(); ++i) scan_root(roots[i], i, found, listing.ignored_files);
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.root != b.root ? a.root < b.root : a.relative < b.relative;
  });

  std::set<std::string> class_names;
  for (const auto& file : found)
    if (!file.class_name.empty()) class_names.insert(file.class_name);
  listing.classes.assign(class_names.begin(), class_names.end());
  std::map<std::string, std::int32_t> label_of;
  for (size_t i = 0; i < listing.classes.size(); ++i)
    label_of[listing.classes[i]] = static_cast<std::int32_t>(i);

  listing.files.reserve(found.size());
  for (auto& file : found) {
    const std::int32_t label = file.class_name.empty() ? -1 : label_of[file.class_name];
    // With several roots the name keeps the root's folder name so names stay unique.
    std::string name = file.relative;
    if (roots.size() > 1 && file.relative != file.path) {
      fs::path root = fs::path(roots[file.root]).lexically_normal();
      if (root.filename().empty()) root = root.parent_path();
      name = root.filename().string() + "/" + file.relative;
    }
    listing.files.push_back({std::move(file.path), std::move(name), label});
  }
  return listing;
}

}  // namespace aepipe::data
