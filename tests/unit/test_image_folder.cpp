#include <gtest/gtest.h>

#include <filesystem>

#include "data/image_folder.hpp"
#include "unit/test_support.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  testing::write_bytes(path.string(), {1});
}

TEST(ImageFolder, OrderLabelsAndClassesDoNotDependOnTheFileSystem) {
  testing::ScratchDir dir;
  const fs::path root = dir.root() / "digits";
  // Created out of order; listing must sort by relative path, byte-wise.
  for (const char* leaf : {"b/2.png", "a/10.png", "a/9.PNG", "b/sub/1.jpg", "c/x.bmp", "loose.pgm",
                           "notes.txt", ".hidden.png", ".cache/a.png", "a/.b.png"})
    touch(root / leaf);
  const FolderListing listing = list_image_folders({root.string()});
  std::vector<std::string> names;
  std::vector<std::int32_t> labels;
  for (const auto& file : listing.files) {
    names.push_back(file.name);
    labels.push_back(file.label);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a/10.png", "a/9.PNG", "b/2.png", "b/sub/1.jpg",
                                             "c/x.bmp", "loose.pgm"}));
  EXPECT_EQ(labels, (std::vector<std::int32_t>{0, 0, 1, 1, 2, -1}));
  EXPECT_EQ(listing.classes, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(listing.ignored_files, 4);  // notes.txt, .hidden.png, .cache, a/.b.png
}

TEST(ImageFolder, SeveralRootsShareClassesAndKeepNamesUnique) {
  testing::ScratchDir dir;
  touch(dir.root() / "one" / "cat" / "1.png");
  touch(dir.root() / "two" / "dog" / "1.png");
  touch(dir.root() / "two" / "cat" / "1.png");
  const FolderListing listing =
      list_image_folders({(dir.root() / "one").string(), (dir.root() / "two/").string()});
  ASSERT_EQ(listing.files.size(), 3u);
  EXPECT_EQ(listing.files[0].name, "one/cat/1.png");
  EXPECT_EQ(listing.files[1].name, "two/cat/1.png");
  EXPECT_EQ(listing.files[2].name, "two/dog/1.png");
  EXPECT_EQ(listing.files[2].label, 1);
}

TEST(ImageFolder, MissingFolderIsAnError) {
  EXPECT_THROW(list_image_folders({"/nonexistent/aepipe"}), Error);
}

TEST(ImageFolder, ExtensionsAreCaseInsensitive) {
  EXPECT_TRUE(has_image_extension("a/B.JPEG"));
  EXPECT_TRUE(has_image_extension("x.tga"));
  EXPECT_FALSE(has_image_extension("x.txt"));
  EXPECT_FALSE(has_image_extension("png"));
}

}  // namespace
}  // namespace aepipe::data
