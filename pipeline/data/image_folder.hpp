#pragma once
// Lists the image files under one or more folders in the ImageFolder convention: each
// first-level sub-folder is a class, its name the class name, and the label of a file is the
// index of its class among all class names sorted. Files are ordered by (root index,
// relative path) in byte order, so the row order never depends on the rank count or on the
// order the file system returns entries.
#include <cstdint>
#include <string>
#include <vector>

namespace aepipe::data {

struct FolderEntry {
  std::string path;         // as opened
  std::string name;         // relative to its root, stored in /names
  std::int32_t label = -1;  // -1: directly in a root, no class
};

struct FolderListing {
  std::vector<FolderEntry> files;
  std::vector<std::string> classes;  // sorted; label i is classes[i]
  std::int64_t ignored_files = 0;    // not images by extension, or hidden
  bool has_labels() const { return !classes.empty(); }
};

// Extensions decoded (case-insensitive): png jpg jpeg jpe bmp pgm ppm pnm tga gif psd.
bool has_image_extension(const std::string& path);

// Recursive scan; hidden files and folders (leading '.') are skipped. A root may also be a
// single image file (no class; named as given). Throws Error naming the folder if it
// cannot be read.
FolderListing list_image_folders(const std::vector<std::string>& roots);

}  // namespace aepipe::data
