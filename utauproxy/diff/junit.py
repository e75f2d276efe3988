"""A diff report as JUnit XML, for CI systems that show test results (issue 10). Pure."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from utauproxy.diff.report import DiffReport


def render_junit(report: DiffReport) -> str:
    """One failing test case per protocol change, difference and one-sided group of messages;
    a single passing case when the captures are equivalent."""
    suite_name = f"utauproxy diff {report.a.name} {report.b.name}"
    cases: list[tuple[str, str, str]] = []  # (name, failure message, failure text)
    for change in report.protocol:
        cases.append((f"protocol: {change.render()}", "protocol change", change.render()))
    for difference in report.differences:
        seen = ", ".join(f"{label} ×{n}" for label, n in difference.labels.most_common())
        text = f"{difference.headline()}\nseen {difference.count}× in {seen}; path {difference.path}"
        cases.append((difference.subject, difference.headline(), text))
    for entry in report.one_sided:
        cases.append((f"only in {entry.side}: {entry.label}", f"{entry.count} message(s) only in {entry.side}",
                      entry.render()))
    suite = ET.Element("testsuite", name=suite_name, tests=str(max(len(cases), 1)),
                       failures=str(len(cases)), errors="0")
    if not cases:
        ET.SubElement(suite, "testcase", classname=suite_name,
                      name=f"equivalent: {report.summary_line()}")
    for name, message, text in cases:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=name)
        failure = ET.SubElement(case, "failure", message=message)
        failure.text = text
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
