//! `slo-eval generate`: every example and fixture gives rules that the real
//! `promtool check rules` accepts, under either naming; byte-for-byte stable
//! output (insta snapshots), and a PrometheusRule wrapping exactly the same
//! groups.

mod common;

use slo_core::rules::{Naming, ObjectMeta, RuleFile};

fn generate(args: &[&str]) -> std::process::Output {
    common::support::slo_eval()
        .arg("generate")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_and_fixture_passes_promtool_check_rules() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = common::all_spec_files();
    assert!(
        files.len() >= 3,
        "expected examples and fixtures: {files:?}"
    );
    for file in &files {
        let out_path = dir.path().join("rules.yml");
        let out = generate(&[
            &file.display().to_string(),
            "-o",
            &out_path.display().to_string(),
        ]);
        assert!(
            out.status.success(),
            "generate failed for {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        common::check_rules(&out_path);
    }
    // All of them in one file too: group names never collide.
    let out_path = dir.path().join("all.yml");
    let mut args: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(["-o".to_owned(), out_path.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = generate(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::check_rules(&out_path);
}

/// `--naming sloth` on every example (slo/v1, Sloth, OpenSLO) and fixture
/// passes `promtool check rules --lint=all --lint-fatal`, and Sloth's names
/// are there.
#[test]
fn sloth_naming_passes_promtool_check_rules_for_every_example() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut files = common::example_files();
    let examples = files.len();
    assert!(
        examples >= 4,
        "expected examples in every format: {files:?}"
    );
    files.extend(common::all_spec_files());
    files.sort();
    files.dedup();
    for (i, file) in files.iter().enumerate() {
        let out_path = dir.path().join(format!("sloth-{i}.yml"));
        let out = generate(&[
            &file.display().to_string(),
            "--naming",
            "sloth",
            "-o",
            &out_path.display().to_string(),
        ]);
        assert!(
            out.status.success(),
            "generate --naming sloth failed for {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        common::check_rules(&out_path);
        let text = std::fs::read_to_string(&out_path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.contains("sloth_id: ") && !text.contains("slo_service"),
            "{}: not Sloth-named",
            file.display()
        );
    }
    let out = generate(&[&files[0].display().to_string(), "--naming", "pyrra"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The PrometheusRule's and the VMRule's `spec` is the rule file's
/// `groups`, indented.
#[test]
fn operator_targets_wrap_the_same_groups() {
    let root = common::repo_root();
    let spec = root.join("examples/specs/checkout.yaml");
    let spec = spec.display().to_string();
    let plain = generate(&[&spec]);
    assert!(plain.status.success());
    let plain = String::from_utf8_lossy(&plain.stdout).into_owned();
    let targets = [
        (
            "prometheus-operator",
            "monitoring.coreos.com/v1",
            "PrometheusRule",
        ),
        (
            "victoriametrics-operator",
            "operator.victoriametrics.com/v1beta1",
            "VMRule",
        ),
    ];
    for (target, api_version, kind) in targets {
        let wrapped = generate(&[
            &spec,
            "--target",
            target,
            "--name",
            "checkout-slos",
            "--namespace",
            "monitoring",
            "--label",
            "release=prom",
            "--label",
            "role=alert-rules",
        ]);
        assert!(wrapped.status.success(), "{target}");
        let wrapped = String::from_utf8_lossy(&wrapped.stdout).into_owned();
        assert!(
            wrapped.contains(&format!(
                "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: checkout-slos\n  namespace: monitoring\n  labels:\n    release: prom\n    role: alert-rules\nspec:\n  groups:\n"
            )),
            "{wrapped}"
        );
        let Some((_, groups)) = wrapped.split_once("\nspec:\n") else {
            panic!("no spec in {wrapped}");
        };
        let dedented: String = groups
            .lines()
            .map(|l| l.strip_prefix("  ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let Some((_, plain_groups)) = plain.split_once('\n') else {
            panic!("no header in {plain}");
        };
        assert_eq!(dedented.trim_end(), plain_groups.trim_end(), "{target}");
        // The dedented groups are a valid rule file.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("from-operator.yml");
        std::fs::write(&path, format!("{dedented}\n")).unwrap_or_else(|e| panic!("{e}"));
        common::check_rules(&path);
    }
}

#[test]
fn usage_errors_are_reported() {
    let root = common::repo_root();
    let spec = root
        .join("examples/specs/checkout.yaml")
        .display()
        .to_string();
    let out = generate(&[&spec, "--name", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("prometheus-operator"));
    let out = generate(&[
        &spec,
        "--target",
        "prometheus-operator",
        "--name",
        "Bad_Name",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = generate(&[
        &spec,
        "--target",
        "prometheus-operator",
        "--label",
        "novalue",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // The same file twice defines every SLO twice.
    let out = generate(&[&spec, &spec]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than once"));
}

#[test]
fn output_is_deterministic() {
    for file in common::all_spec_files() {
        let spec = common::spec_file(&file);
        let a = RuleFile::from_specs(std::slice::from_ref(&spec)).to_yaml();
        let b = RuleFile::from_specs(std::slice::from_ref(&common::spec_file(&file))).to_yaml();
        assert_eq!(a, b);
    }
}

#[test]
fn snapshots_of_generated_files() {
    // insta refuses to write new snapshots under CI=true: a missing or
    // changed snapshot fails there; review with `cargo insta review`.
    // The Istio examples are checked by promtool above, not snapshotted:
    // sixteen SLOs of rules would bury real changes in review.
    let istio = common::repo_root().join("examples/istio");
    for file in common::all_spec_files() {
        if file.starts_with(&istio) {
            continue;
        }
        let spec = common::spec_file(&file);
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rules = RuleFile::from_specs(std::slice::from_ref(&spec));
        insta::assert_snapshot!(format!("{name}.rules"), rules.to_yaml());
        if name == "checkout" {
            let meta = ObjectMeta {
                name: "checkout-slo-rules".to_owned(),
                namespace: Some("monitoring".to_owned()),
                labels: [("release".to_owned(), "prometheus".to_owned())]
                    .into_iter()
                    .collect(),
            };
            insta::assert_snapshot!(
                format!("{name}.prometheus-rule"),
                rules.to_prometheus_rule(&meta)
            );
            insta::assert_snapshot!(format!("{name}.vm-rule"), rules.to_vm_rule(&meta));
        }
    }
}

/// Sloth's names over this tool's rules, for the Sloth example: any change
/// to what a Sloth dashboard reads shows in review.
#[test]
fn snapshot_of_sloth_naming() {
    let spec = common::spec_file(&common::repo_root().join("examples/sloth/myservice.yaml"));
    let rules = RuleFile::from_specs_with(std::slice::from_ref(&spec), Naming::Sloth);
    insta::assert_snapshot!("myservice.sloth.rules", rules.to_yaml());
}

/// Regression (issue 12): `--target prometheus-operator` over several
/// services named the one object `slo-rules`, not the `<service>-slo-rules`
/// its help promises. Each service now gets its own object, holding only its
/// own groups; `--name` still gives one object with everything.
#[test]
fn operator_target_over_several_services_names_each_service_slo_rules() {
    let shop = common::repo_root().join("examples/shop");
    let shop = shop.display().to_string();
    let out = generate(&[&shop, "--target", "prometheus-operator"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let docs: Vec<serde_json::Value> = text
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}")))
        .collect();
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "checkout-slo-rules",
            "frontend-slo-rules",
            "productcatalog-slo-rules",
            "refunds-slo-rules"
        ]
    );
    for doc in &docs {
        assert_eq!(doc["kind"], "PrometheusRule");
        let name = doc["metadata"]["name"].as_str().unwrap_or_default();
        let service = name.trim_end_matches("-slo-rules");
        let groups = doc["spec"]["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!groups.is_empty(), "{name} has no groups");
        for group in &groups {
            let g = group["name"].as_str().unwrap_or_default();
            assert!(g.contains(service), "group {g} in object {name}");
        }
    }
    let one = generate(&[&shop, "--target", "prometheus-operator", "--name", "shop"]);
    assert!(one.status.success());
    let one = String::from_utf8_lossy(&one.stdout).into_owned();
    assert!(!one.contains("\n---\n"));
    let doc: serde_json::Value = serde_saphyr::from_str(&one).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["metadata"]["name"], "shop");
}

/// Regression: services `my_svc` and `my-svc` both became a PrometheusRule
/// named `my-svc-slo-rules`; `kubectl apply` of the stream keeps the last,
/// silently dropping the other service's alerts. Now refused, naming both.
#[test]
fn operator_target_refuses_two_services_with_the_same_object_name() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (file, service) in [("a.yaml", "my_svc"), ("b.yaml", "my-svc")] {
        let spec = format!(
            "version: slo/v1\nservice: {service}\nslos:\n  - name: avail\n    objective: 99.9\n    sli:\n      ratio:\n        errors: req_total{{code=\"500\"}}\n        total: req_total\n"
        );
        std::fs::write(dir.path().join(file), spec).unwrap_or_else(|e| panic!("{e}"));
    }
    let path = dir.path().display().to_string();
    let out = generate(&[&path, "--target", "prometheus-operator"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("my_svc")
            && stderr.contains("my-svc")
            && stderr.contains("my-svc-slo-rules"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    // One object with --name holds both.
    let one = generate(&[&path, "--target", "prometheus-operator", "--name", "svc"]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
}

/// `--target victoriametrics-operator` splits by service as the
/// prometheus-operator target does: one `VMRule` per service, each holding
/// exactly the groups of that service's plain rule file.
#[test]
fn victoriametrics_operator_target_writes_one_vmrule_per_service() {
    let shop = common::repo_root().join("examples/shop");
    let shop = shop.display().to_string();
    let out = generate(&[&shop, "--target", "victoriametrics-operator"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let docs: Vec<serde_json::Value> = text
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}")))
        .collect();
    assert_eq!(docs.len(), 4, "{text}");
    let plain = generate(&[&shop]);
    let plain: serde_json::Value = serde_saphyr::from_str(&String::from_utf8_lossy(&plain.stdout))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut groups = Vec::new();
    for doc in &docs {
        assert_eq!(doc["apiVersion"], "operator.victoriametrics.com/v1beta1");
        assert_eq!(doc["kind"], "VMRule");
        groups.extend(
            doc["spec"]["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    assert_eq!(
        serde_json::Value::Array(groups),
        plain["groups"],
        "the VMRules' groups, in order, are the rule file's"
    );
}
