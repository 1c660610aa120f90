// Config files and small text utilities of the command line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "jobs/config_file.hpp"
#include "unit/test_support.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"
#include "util/recorded_path.hpp"

namespace aepipe::jobs {
namespace {

struct Parsed {
  std::vector<std::string> inputs;
  int tile = 0;
  bool quiet = false;
  std::string output;
};

po::options_description describe(Parsed& parsed) {
  po::options_description options;
  options.add_options()("input", po::value(&parsed.inputs)->multitoken(), "")(
      "tile", po::value(&parsed.tile), "")("quiet", po::bool_switch(&parsed.quiet), "")(
      "output", po::value(&parsed.output), "");
  return options;
}

// Parses like `aepipe ingest` (or a job's stage `section`) with the command line given.
void parse(const std::string& path, const std::vector<const char*>& command_line, Parsed& parsed,
           std::vector<std::string> sections = {"ingest"},
           std::vector<ConfigEntry> overrides = {}) {
  auto options = describe(parsed);
  po::variables_map values;
  std::vector<const char*> argv{"x"};
  argv.insert(argv.end(), command_line.begin(), command_line.end());
  po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), options), values);
  const auto file = ConfigFile::read(path, {"ingest", "train"});
  store_config(ConfigSource{&file, std::move(overrides), std::move(sections)}, options, values);
  po::notify(values);
}

class ConfigFiles : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    const std::string path = dir.path("job.ini");
    std::ofstream(path) << text;
    return path;
  }
  testing::ScratchDir dir;
};

TEST_F(ConfigFiles, SectionValuesApplyAndTheCommandLineWins) {
  const auto path = write(
      "quiet = true\n[job]\nstages = ingest\n[ingest]\ninput = a.idx\ninput = b.idx\ntile = 8\n"
      "output = file.h5\n[train]\nepochs = 3\n");
  Parsed parsed;
  parse(path, {"--tile", "16"}, parsed);
  EXPECT_EQ(parsed.inputs, (std::vector<std::string>{"a.idx", "b.idx"}));
  EXPECT_EQ(parsed.tile, 16);
  EXPECT_TRUE(parsed.quiet);
  EXPECT_EQ(parsed.output, "file.h5");
}

TEST_F(ConfigFiles, UnknownKeysSectionsAndBadValuesAreUsageErrorsNamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"[ingest]\ntiles = 3\n", "tiles"},
      {"[injest]\ntile = 3\n", "injest"},
      {"[ingest]\ntile = many\n", "many"},
      {"bogus = 1\n", "bogus"},
      {"[ingest]\nconfig = other.ini\n", "config"}};
  for (const auto& [text, named] : cases) {
    Parsed parsed;
    try {
      parse(write(text), {}, parsed);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const UsageError& error) {
      EXPECT_NE(std::string(error.what()).find(named), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("job.ini"), std::string::npos) << error.what();
    }
  }
  Parsed parsed;
  EXPECT_THROW(parse(dir.path("missing.ini"), {}, parsed), UsageError);
}

TEST_F(ConfigFiles, ALabelledSectionTakesTheRestFromItsCommandsSection) {
  const auto path = write(
      "quiet = true\n[ingest]\ninput = a.idx\ninput = b.idx\ntile = 8\noutput = train.h5\n"
      "[ingest:test]\ninput = t.idx\noutput = test.h5\n");
  Parsed test;
  parse(path, {}, test, {"ingest:test", "ingest"});
  EXPECT_EQ(test.inputs, std::vector<std::string>{"t.idx"});  // replaced whole, not appended
  EXPECT_EQ(test.output, "test.h5");
  EXPECT_EQ(test.tile, 8);
  EXPECT_TRUE(test.quiet);
  Parsed plain;  // `aepipe ingest --config` reads [ingest] alone
  parse(path, {}, plain);
  EXPECT_EQ(plain.output, "train.h5");
}

TEST_F(ConfigFiles, SetOverridesWinOverTheFileButNotOverTheCommandLine) {
  const auto path = write("[ingest]\ntile = 8\noutput = a.h5\n[ingest:test]\ntile = 4\n");
  Parsed parsed;
  parse(path, {}, parsed, {"ingest:test", "ingest"},
        {parse_override("ingest.tile=2"), parse_override("output=b.h5")});
  EXPECT_EQ(parsed.tile, 2);
  EXPECT_EQ(parsed.output, "b.h5");
  Parsed command_line;
  parse(path, {"--tile", "16"}, command_line, {"ingest"}, {parse_override("ingest.tile=2")});
  EXPECT_EQ(command_line.tile, 16);
  Parsed bad;
  EXPECT_THROW(parse(path, {}, bad, {"ingest"}, {parse_override("ingest.tiles=2")}), UsageError);
  EXPECT_THROW(parse_override("ingest.tile"), UsageError);
  EXPECT_THROW(parse_override(".tile=3"), UsageError);
  EXPECT_EQ(parse_override("train.arch=784-30=x").values.front(), "784-30=x");
}

TEST_F(ConfigFiles, SectionLabelsMustNameACommand) {
  Parsed parsed;
  for (const std::string text :
       {"[injest:test]\ntile = 3\n", "[ingest:]\ntile = 3\n", "[ingest:a b]\ntile = 3\n"}) {
    try {
      parse(write(text), {}, parsed);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const UsageError& error) {
      EXPECT_NE(std::string(error.what()).find("unknown section"), std::string::npos)
          << error.what();
    }
  }
  EXPECT_TRUE(is_command_section("ingest:test-2", {"ingest"}));
  EXPECT_FALSE(is_command_section("job", {"ingest"}));
  EXPECT_EQ(command_of_section("ingest:test"), "ingest");
}

TEST(RecordedPath, ARelativePathIsFoundBesideTheFileThatRecordsIt) {
  testing::ScratchDir dir;
  std::filesystem::create_directories(dir.path("archive"));
  std::ofstream(dir.path("archive/model.h5")) << "x";
  const std::string codes = dir.path("archive/codes.h5");
  EXPECT_EQ(resolve_recorded_path("model.h5", codes), dir.path("archive/model.h5"));
  EXPECT_EQ(resolve_recorded_path("other.h5", codes), "other.h5");  // the error names it
  EXPECT_EQ(resolve_recorded_path(dir.path("archive/model.h5"), "/elsewhere/codes.h5"),
            dir.path("archive/model.h5"));
  EXPECT_EQ(resolve_recorded_path("", codes), "");
}

TEST(Json, QuotesControlCharactersAndRefusesNonFiniteNumbers) {
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(JsonObject().add("x", 1.5).add("n", std::int64_t{3}).add("s", "t").str(),
            "{\"x\":1.5,\"n\":3,\"s\":\"t\"}");
  EXPECT_EQ(JsonObject().add("nan", 0.0 / 0.0).str(), "{\"nan\":null}");
  const auto object = JsonObject().add("psnr", 21.5).add("stage", "evaluate");
  EXPECT_EQ(object.field("psnr"), "21.5");
  EXPECT_EQ(object.field("stage"), "\"evaluate\"");
  EXPECT_EQ(object.field("none"), "");
  EXPECT_EQ(object.fields().size(), 2u);
}

TEST(Progress, DurationsReadNaturally) {
  EXPECT_EQ(format_duration(5.2), "5s");
  EXPECT_EQ(format_duration(125), "2:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(AtomicOutput, TemporaryNamesAreRecognised) {
  EXPECT_TRUE(is_temporary_output("/a/.data.h5.aepipe-tmp-123-456"));
  EXPECT_FALSE(is_temporary_output("/a/data.h5"));
  EXPECT_FALSE(is_temporary_output("/a/.hidden.h5"));
}

}  // namespace
}  // namespace aepipe::jobs
