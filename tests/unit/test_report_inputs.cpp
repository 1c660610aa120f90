#include <gtest/gtest.h>

#include "report/json_lines.hpp"
#include "report/machine.hpp"
#include "report/rate_distortion.hpp"
#include "unit/test_support.hpp"
#include "util/error.hpp"

namespace aepipe::report {
namespace {

TEST(ReportInputs, ParsesFlatJsonObjectsAsMetricsWritesThem) {
  const JsonEvent event = parse_json_object(
      R"({"stage":"train","event":"epoch","epoch":3,"loss":1.5e-2,"ok":true,"no":false,)"
      R"("gone":null,"name":"a\"b\\c\nd\u00e9\ud83d\ude00","nested":{"a":[1,"}"]}})");
  ASSERT_EQ(event.fields.size(), 9u);
  EXPECT_EQ(event.text("stage"), "train");
  EXPECT_EQ(event.find("epoch")->number, 3);
  EXPECT_DOUBLE_EQ(event.find("loss")->number, 0.015);
  EXPECT_EQ(event.find("ok")->kind, JsonValue::Kind::kBoolean);
  EXPECT_EQ(event.find("ok")->number, 1);
  EXPECT_EQ(event.find("no")->number, 0);
  EXPECT_EQ(event.find("gone")->kind, JsonValue::Kind::kNull);
  EXPECT_EQ(event.text("name"), "a\"b\\c\nd\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(event.find("nested")->text, R"({"a":[1,"}"]})");
  EXPECT_EQ(event.find("missing"), nullptr);
  EXPECT_EQ(event.text("epoch"), "");  // not a string
  EXPECT_TRUE(parse_json_object(" { } ").fields.empty());
}

TEST(ReportInputs, MalformedJsonSaysWhere) {
  for (const char* bad : {"", "{", R"({"a":})", R"({"a":1,})", R"({"a":1} x)", R"({"a":"\q"})",
                          R"({a:1})", R"({"a":[1,2})", R"({"a":tru})"}) {
    EXPECT_THROW(parse_json_object(bad), Error) << bad;
  }
  try {
    parse_json_object(R"({"a":1,"b":})");
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("at character 12"), std::string::npos) << error.what();
  }
}

TEST(ReportInputs, MetricsFileErrorsNameTheFileAndLine) {
  testing::ScratchDir scratch;
  const std::string path = scratch.path("metrics.jsonl");
  const std::string good = "{\"stage\":\"ingest\",\"seconds\":2}\n\n";
  testing::write_bytes(path, std::vector<std::uint8_t>(good.begin(), good.end()));
  EXPECT_EQ(read_json_lines(path).size(), 1u);
  const std::string bad = good + "{\"stage\":\"tr";
  testing::write_bytes(path, std::vector<std::uint8_t>(bad.begin(), bad.end()));
  try {
    read_json_lines(path);
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path + " line 3"), std::string::npos) << error.what();
  }
  EXPECT_THROW(read_json_lines(scratch.path("absent.jsonl")), Error);
}

TEST(ReportInputs, ReadsTheRateDistortionTable) {
  const std::string table =
      "codec                                        bits/pixel   PSNR dB    SSIM\n"
      "JPEG q5                                          0.5123    19.512\n"
      "PCA 32-d 8-bit                                   0.9714    20.311  0.7150\n"
      "aepipe 32-d 3-bit (784-1000-32, 10 ep, sparsity=l1,beta=0.1)  0.1264  19.364  0.6938\n"
      "PNG (lossless)                                   3.4000  lossless\n"
      "odd 5                                            0.7000    21.000\n"
      "\n"
      "JPEG q10: 0.8470 bpp at 24.014 dB\n";
  const auto points = parse_rate_distortion(table, "rd.txt");
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].name, "JPEG q5");
  EXPECT_EQ(points[0].family, "JPEG");
  EXPECT_DOUBLE_EQ(points[0].bits_per_pixel, 0.5123);
  EXPECT_DOUBLE_EQ(points[0].psnr, 19.512);
  EXPECT_FALSE(points[0].ssim);
  EXPECT_EQ(points[1].family, "PCA");
  EXPECT_DOUBLE_EQ(*points[1].ssim, 0.715);
  EXPECT_EQ(points[2].name, "aepipe 32-d 3-bit (784-1000-32, 10 ep, sparsity=l1,beta=0.1)");
  EXPECT_DOUBLE_EQ(points[2].bits_per_pixel, 0.1264);
  EXPECT_EQ(points[2].family, "aepipe");
  EXPECT_EQ(points[3].name, "odd 5");  // a name ending in a number, no SSIM
  EXPECT_EQ(points[3].family, "other");
  EXPECT_DOUBLE_EQ(points[3].psnr, 21.0);
}

TEST(ReportInputs, RateDistortionMistakesNameTheFile) {
  EXPECT_THROW(parse_rate_distortion("hello\n", "rd.txt"), Error);
  EXPECT_THROW(parse_rate_distortion("codec bits/pixel PSNR dB SSIM\n\n", "rd.txt"), Error);
  try {
    parse_rate_distortion("codec bits/pixel PSNR dB SSIM\nJPEG q5 fast\n", "rd.txt");
    FAIL();
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("rd.txt line 2"), std::string::npos) << error.what();
  }
}

TEST(ReportInputs, CpuModelFromCpuinfo) {
  EXPECT_EQ(cpu_model_from_cpuinfo("processor\t: 0\ncpu family\t: 6\nmodel name\t: Intel(R) "
                                   "Xeon(R) CPU @ 2.20GHz\ncpu MHz\t\t: 2200.000\n"),
            "Intel(R) Xeon(R) CPU @ 2.20GHz");
  EXPECT_EQ(cpu_model_from_cpuinfo("processor : 0\nBogoMIPS : 50.00\nModel : Raspberry Pi 4\n"),
            "Raspberry Pi 4");
  EXPECT_EQ(cpu_model_from_cpuinfo("processor : 0\ncpu : POWER9 (raw)\n"), "POWER9 (raw)");
  EXPECT_EQ(cpu_model_from_cpuinfo(""), "unknown");
}

}  // namespace
}  // namespace aepipe::report
