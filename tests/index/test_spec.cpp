#include <gtest/gtest.h>

#include "index/spec.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

TEST(IndexSpec, ParsesEveryFormAndPrintsItBack) {
  EXPECT_EQ(parse_index_spec("flat"), (IndexSpec{Kind::kFlat, Metric::kL2, 0, 0}));
  EXPECT_EQ(parse_index_spec("flat:ip").metric, Metric::kInnerProduct);
  EXPECT_EQ(parse_index_spec("flat:cosine").metric, Metric::kCosine);
  const IndexSpec ivf = parse_index_spec("ivf:256");
  EXPECT_EQ(ivf.kind, Kind::kIvf);
  EXPECT_EQ(ivf.nlist, 256);
  EXPECT_EQ(ivf.metric, Metric::kL2);
  EXPECT_EQ(parse_index_spec("ivf:16:cosine").metric, Metric::kCosine);
  const IndexSpec hash = parse_index_spec("hash:64");
  EXPECT_EQ(hash.kind, Kind::kHash);
  EXPECT_EQ(hash.bits, 64);
  EXPECT_EQ(hash.metric, Metric::kHamming);
  EXPECT_EQ(hash.hash_method, HashMethod::kItq);
  EXPECT_EQ(parse_index_spec("hash:128:sign").hash_method, HashMethod::kSign);
  for (const char* text : {"flat", "flat:ip", "ivf:7:cosine", "hash:100:sign", "hash:64:itq"})
    EXPECT_EQ(parse_index_spec(to_string(parse_index_spec(text))), parse_index_spec(text)) << text;
  EXPECT_EQ(to_string(parse_index_spec("ivf:256")), "ivf:256:l2");
}

TEST(IndexSpec, RejectsBadSpecsQuotingThem) {
  for (const char* text : {"", "flat:", "flat:l1", "flat:ip:x", "ivf", "ivf:", "ivf:0", "ivf:-4",
                           "ivf:12x", "ivf:16:hamming", "hash", "hash:0", "hash:64:pq", "hash:5000",
                           "hnsw:16", "IVF:256", "ivf:99999999999999999999"}) {
    try {
      parse_index_spec(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const UsageError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(std::string("'") + text + "'"), std::string::npos) << message;
      EXPECT_NE(message.find("expected flat"), std::string::npos) << message;
    }
  }
}

TEST(IndexSpec, FileNamesParseBackOrFailNamingTheFile) {
  EXPECT_EQ(parse_metric("cosine", "f.h5:metric"), Metric::kCosine);
  EXPECT_EQ(parse_kind("ivf", "f.h5:type"), Kind::kIvf);
  try {
    parse_metric("manhattan", "f.h5:metric");
    ADD_FAILURE();
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(),
                 "f.h5:metric: unknown metric 'manhattan' (expected l2, ip, cosine or hamming)");
  }
}

}  // namespace
}  // namespace aepipe::index
