// Which stages `aepipe run` runs: skipped when done, rerun when out of date or forced.
#include "jobs/job_plan.hpp"

#include <gtest/gtest.h>

#include <map>

#include "util/error.hpp"

namespace aepipe::jobs {
namespace {

using Time = std::filesystem::file_time_type;

// Files by name: absent unless listed; `complete` false marks a damaged one.
struct FakeFiles {
  std::map<std::string, FileState> files;
  void add(const std::string& path, int minute, bool complete = true) {
    FileState state;
    state.exists = true;
    state.complete = complete;
    state.problem = complete ? "" : "not HDF5";
    state.modified = Time(std::chrono::minutes(minute));
    files[std::filesystem::absolute(path).lexically_normal().string()] = state;
  }
  FileProbe probe() const {
    return [this](const std::string& path) {
      const auto found = files.find(std::filesystem::absolute(path).lexically_normal().string());
      return found == files.end() ? FileState{} : found->second;
    };
  }
};

// ingest -> train -> encode -> evaluate (no output) over relative paths.
std::vector<StageFiles> pipeline() {
  return {{"ingest", {"out/train.h5"}, {"train.idx"}},
          {"ingest:test", {"out/test.h5"}, {"test.idx"}},
          {"train", {"out/model.h5"}, {"out/train.h5"}},
          {"encode", {"out/codes.h5"}, {"out/./test.h5", "out/model.h5"}},
          {"evaluate", {}, {"out/model.h5", "out/test.h5"}}};
}

std::vector<StageAction> actions(const std::vector<PlannedStage>& plan) {
  std::vector<StageAction> result;
  for (const auto& stage : plan) result.push_back(stage.action);
  return result;
}

constexpr auto kSkip = StageAction::kSkip;
constexpr auto kRun = StageAction::kRun;
constexpr auto kReplace = StageAction::kReplace;

TEST(JobPlan, AFreshJobRunsEverything) {
  const FakeFiles none;
  EXPECT_EQ(actions(plan_job(pipeline(), std::nullopt, none.probe())),
            (std::vector{kRun, kRun, kRun, kRun, kRun}));
}

TEST(JobPlan, ARequeuedJobSkipsWhatIsDoneAndRunsTheRest) {
  FakeFiles files;
  files.add("out/train.h5", 1);
  files.add("out/test.h5", 2);
  const auto plan = plan_job(pipeline(), std::nullopt, files.probe());
  EXPECT_EQ(actions(plan), (std::vector{kSkip, kSkip, kRun, kRun, kRun}));
  EXPECT_NE(plan[0].reason.find("out/train.h5 is complete"), std::string::npos);
}

TEST(JobPlan, EverythingDoneRunsOnlyStagesWithoutOutputs) {
  FakeFiles files;
  files.add("out/train.h5", 1);
  files.add("out/test.h5", 2);
  files.add("out/model.h5", 3);
  files.add("out/codes.h5", 4);
  EXPECT_EQ(actions(plan_job(pipeline(), std::nullopt, files.probe())),
            (std::vector{kSkip, kSkip, kSkip, kSkip, kRun}));
}

TEST(JobPlan, AStageWhoseInputIsRewrittenOrNewerRunsAgain) {
  FakeFiles files;
  files.add("out/test.h5", 2);
  files.add("out/model.h5", 3);
  files.add("out/codes.h5", 4);
  // train.h5 is missing: ingest runs, so train (and encode, which reads its model) rerun.
  auto plan = plan_job(pipeline(), std::nullopt, files.probe());
  EXPECT_EQ(actions(plan), (std::vector{kRun, kSkip, kReplace, kReplace, kRun}));
  EXPECT_TRUE(plan[2].fresh);
  EXPECT_FALSE(plan[1].fresh);
  // A model newer than the codes (an earlier run died between train and encode).
  files.add("out/train.h5", 1);
  files.add("out/model.h5", 5);
  plan = plan_job(pipeline(), std::nullopt, files.probe());
  EXPECT_EQ(actions(plan), (std::vector{kSkip, kSkip, kSkip, kReplace, kRun}));
  EXPECT_NE(plan[3].reason.find("out/model.h5"), std::string::npos) << plan[3].reason;
  // Files not written by the job (train.idx) never make a stage out of date.
  files.add("train.idx", 99);
  EXPECT_EQ(plan_job(pipeline(), std::nullopt, files.probe())[0].action, kSkip);
}

TEST(JobPlan, InterruptedWorkContinuesOnlyWhenItsInputsStay) {
  FakeFiles files;
  files.add("out/train.h5", 1);
  files.add("out/test.h5", 2);
  // No model yet (training was stopped): train continues from its checkpoint ...
  auto plan = plan_job(pipeline(), std::nullopt, files.probe());
  EXPECT_EQ(plan[2].action, kRun);
  EXPECT_FALSE(plan[2].fresh);
  // ... but not when the data it trained on is written again now.
  files.files.clear();
  files.add("out/test.h5", 2);
  plan = plan_job(pipeline(), std::nullopt, files.probe());
  EXPECT_EQ(plan[2].action, kRun);
  EXPECT_TRUE(plan[2].fresh);
  EXPECT_TRUE(plan_job(pipeline(), 2, files.probe())[2].fresh);  // nor when forced
}

TEST(JobPlan, FromForcesThatStageAndEveryLaterOne) {
  FakeFiles files;
  files.add("out/train.h5", 1);
  files.add("out/test.h5", 2);
  files.add("out/model.h5", 3);
  EXPECT_EQ(actions(plan_job(pipeline(), 2, files.probe())),
            (std::vector{kSkip, kSkip, kReplace, kRun, kRun}));
  EXPECT_EQ(actions(plan_job(pipeline(), 0, files.probe())),
            (std::vector{kReplace, kReplace, kReplace, kRun, kRun}));
}

TEST(JobPlan, ADamagedOutputIsNeitherSkippedNorReplaced) {
  FakeFiles files;
  files.add("out/train.h5", 1, false);
  try {
    plan_job(pipeline(), std::nullopt, files.probe());
    FAIL() << "a damaged output was accepted";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("out/train.h5"), std::string::npos) << message;
    EXPECT_NE(message.find("stage ingest"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace aepipe::jobs
