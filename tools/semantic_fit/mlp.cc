// mlp: one hidden layer (tanh) softmax classifier. usage: mlp trainfiles... -- testfiles...
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>
const char* kClasses[] = {"speech", "music", "other"};
struct S {
  int y;
  std::vector<double> x;
  std::string src;
};
std::vector<double> transform(const std::vector<double>& r) {
  std::vector<double> x = r;
  x[1] = std::min(r[1], 30.0);
  x.push_back(std::log(r[2] + 0.05));
  x.push_back(std::log(r[4] + 0.001));
  x.push_back(std::log(r[1] + 0.5));
  return x;
}
std::vector<S> load(const std::vector<std::string>& files) {
  std::vector<S> out;
  for (auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string lab, name, t;
      double v;
      ss >> lab >> t;
      std::vector<double> r;
      while (ss >> name >> v) r.push_back(v);
      int y = -1;
      for (int c = 0; c < 3; ++c)
        if (lab == kClasses[c]) y = c;
      if (lab == "flite") y = 0;
      if (lab == "drums") y = 1;
      if (y < 0) continue;
      out.push_back({y, transform(r), f});
    }
  }
  return out;
}
int H = 10;
int main(int argc, char** argv) {
  std::vector<std::string> trf, tef;
  bool test = false;
  double l2 = getenv("L2") ? atof(getenv("L2")) : 1e-3;
  if (getenv("H")) H = atoi(getenv("H"));
  int iters = getenv("IT") ? atoi(getenv("IT")) : 3000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      test = true;
      continue;
    }
    (test ? tef : trf).push_back(a);
  }
  auto tr = load(trf), te = load(tef);
  size_t d = tr[0].x.size();
  std::vector<double> mu(d, 0), sd(d, 0);
  for (auto& s : tr)
    for (size_t j = 0; j < d; ++j) mu[j] += s.x[j] / tr.size();
  for (auto& s : tr)
    for (size_t j = 0; j < d; ++j) sd[j] += (s.x[j] - mu[j]) * (s.x[j] - mu[j]) / tr.size();
  for (auto& v : sd) v = std::sqrt(v) + 1e-9;
  auto norm = [&](const std::vector<double>& x) {
    std::vector<double> z(d);
    for (size_t j = 0; j < d; ++j) z[j] = (x[j] - mu[j]) / sd[j];
    return z;
  };
  std::vector<double> cw(3, 0);
  for (auto& s : tr) cw[s.y]++;
  for (auto& c : cw) c = tr.size() / (3 * c);
  // params: W1[H][d+1], W2[3][H+1]
  std::mt19937 rng(5);
  std::normal_distribution<double> g(0, 1);
  size_t P = H * (d + 1) + 3 * (H + 1);
  std::vector<double> w(P), m(P, 0), v(P, 0);
  for (auto& x : w) x = g(rng) * 0.3;
  auto W1 = [&](int h, size_t j) -> double& { return w[h * (d + 1) + j]; };
  auto W2 = [&](int c, int h) -> double& { return w[H * (d + 1) + c * (H + 1) + h]; };
  std::vector<std::vector<double>> Z;
  for (auto& s : tr) Z.push_back(norm(s.x));
  auto forward = [&](const std::vector<double>& z, std::vector<double>& hid, double* p) {
    hid.assign(H, 0);
    for (int h = 0; h < H; ++h) {
      double a = W1(h, d);
      for (size_t j = 0; j < d; ++j) a += W1(h, j) * z[j];
      hid[h] = std::tanh(a);
    }
    double mx = -1e9;
    for (int c = 0; c < 3; ++c) {
      p[c] = W2(c, H);
      for (int h = 0; h < H; ++h) p[c] += W2(c, h) * hid[h];
      mx = std::max(mx, p[c]);
    }
    double sum = 0;
    for (int c = 0; c < 3; ++c) {
      p[c] = std::exp(p[c] - mx);
      sum += p[c];
    }
    for (int c = 0; c < 3; ++c) p[c] /= sum;
  };
  double lr = 0.01;
  std::vector<double> hid;
  for (int it = 1; it <= iters; ++it) {
    std::vector<double> gr(P, 0);
    double wsum = 0;
    for (size_t i = 0; i < tr.size(); ++i) {
      double p[3];
      forward(Z[i], hid, p);
      double wt = cw[tr[i].y];
      wsum += wt;
      double dh[64] = {0};
      for (int c = 0; c < 3; ++c) {
        double e = (p[c] - (c == tr[i].y)) * wt;
        for (int h = 0; h < H; ++h) {
          gr[H * (d + 1) + c * (H + 1) + h] += e * hid[h];
          dh[h] += e * W2(c, h);
        }
        gr[H * (d + 1) + c * (H + 1) + H] += e;
      }
      for (int h = 0; h < H; ++h) {
        double da = dh[h] * (1 - hid[h] * hid[h]);
        for (size_t j = 0; j < d; ++j) gr[h * (d + 1) + j] += da * Z[i][j];
        gr[h * (d + 1) + d] += da;
      }
    }
    for (size_t k = 0; k < P; ++k) {
      double gg = gr[k] / wsum + l2 * w[k];
      m[k] = 0.9 * m[k] + 0.1 * gg;
      v[k] = 0.999 * v[k] + 0.001 * gg * gg;
      double mh = m[k] / (1 - std::pow(0.9, it)), vh = v[k] / (1 - std::pow(0.999, it));
      w[k] -= lr * mh / (std::sqrt(vh) + 1e-8);
    }
  }
  auto eval = [&](const std::vector<S>& set, const char* name) {
    std::map<std::string, std::pair<int, int>> per;
    int conf[3][3] = {};
    for (auto& s : set) {
      double p[3];
      forward(norm(s.x), hid, p);
      int b = 0;
      for (int c = 1; c < 3; ++c)
        if (p[c] > p[b]) b = c;
      conf[s.y][b]++;
      per[s.src].first += (b == s.y);
      per[s.src].second++;
    }
    printf("%s confusion (rows true speech/music/other):\n", name);
    for (int r = 0; r < 3; ++r) printf("  %5d %5d %5d\n", conf[r][0], conf[r][1], conf[r][2]);
    for (auto& [k, vv] : per)
      printf("  %-30s %.3f (%d)\n", k.c_str(), double(vv.first) / vv.second, vv.second);
  };
  eval(tr, "train");
  if (!te.empty()) eval(te, "test");
  if (getenv("DUMP")) {
    printf("MEAN");
    for (auto x : mu) printf(" %.6g", x);
    printf("\nSTD");
    for (auto x : sd) printf(" %.6g", x);
    printf("\n");
    printf("W1\n");
    for (int h = 0; h < H; ++h) {
      for (size_t j = 0; j <= d; ++j) printf(" %.5f", W1(h, j));
      printf("\n");
    }
    printf("W2\n");
    for (int c = 0; c < 3; ++c) {
      for (int h = 0; h <= H; ++h) printf(" %.5f", W2(c, h));
      printf("\n");
    }
  }
}
