// The conformance suite every MetadataStore implementation passes: the semantics documented in
// storage/metadata_store.h (scope isolation, pagination, filters, error codes, round trips,
// concurrent use), tested only through the interface.
//
// To run it against a backend, link metadata_store_conformance.cc into the backend's test binary
// and instantiate it with a factory that returns a fresh, empty store on every call:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, MetadataStoreConformance,
//                            ::testing::Values(MetadataStoreFactory{"Sqlite", make_sqlite_store}),
//                            metadata_store_factory_name);
//
// The factory is called once per test (in SetUp) and the store is destroyed in TearDown; the
// factory owns any cleanup of what it creates (temp files, databases).
#pragma once

#include "storage/metadata_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace atomcut::conformance {

struct MetadataStoreFactory {
  std::string name;  // names the instantiation in test output: letters and digits only
  // Returns a fresh store with no records, or nullptr when one cannot be created (the test fails).
  std::function<std::unique_ptr<MetadataStore>()> make_store;
};

void PrintTo(const MetadataStoreFactory& factory, std::ostream* os);

// Name generator for INSTANTIATE_TEST_SUITE_P: the factory's name.
std::string metadata_store_factory_name(const ::testing::TestParamInfo<MetadataStoreFactory>& info);

class MetadataStoreConformance : public ::testing::TestWithParam<MetadataStoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  MetadataStore& store() { return *store_; }

 private:
  std::unique_ptr<MetadataStore> store_;
};

}  // namespace atomcut::conformance
