from __future__ import annotations

from kconformance.diagnostics import (
    NamespaceDump,
    event_lines,
    format_dump,
    pod_states,
    restart_lines,
)

POD = {
    "metadata": {"name": "web"},
    "spec": {
        "initContainers": [{"name": "setup"}, {"name": "proxy", "restartPolicy": "Always"}],
        "containers": [{"name": "app"}],
    },
    "status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        "initContainerStatuses": [
            {
                "name": "setup",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                "ready": False,
                "restartCount": 0,
            },
            {
                "name": "proxy",
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                "ready": True,
                "restartCount": 2,
            },
        ],
        "containerStatuses": [
            {
                "name": "app",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "ready": False,
                "restartCount": 1,
            }
        ],
    },
}


def test_pod_states_tell_init_sidecar_and_app_apart():
    (pod,) = pod_states([POD])
    roles = {c.name: c.role for c in pod.containers}
    assert roles == {"setup": "init", "proxy": "sidecar", "app": "app"}
    assert pod.conditions == ["Ready=False (ContainersNotReady)"]


def test_events_are_sorted_by_time():
    lines = event_lines(
        [
            {
                "lastTimestamp": "2026-01-01T00:00:05Z",
                "type": "Warning",
                "reason": "BackOff",
                "involvedObject": {"kind": "Pod", "name": "web"},
                "message": "late",
            },
            {
                "lastTimestamp": "2026-01-01T00:00:01Z",
                "type": "Normal",
                "reason": "Scheduled",
                "involvedObject": {"kind": "Pod", "name": "web"},
                "message": "early",
            },
        ]
    )
    assert [line.split()[2] for line in lines] == ["Scheduled", "BackOff"]


def test_format_shows_states_and_previous_logs():
    (pod,) = pod_states([POD])
    pod.containers[1].logs = "proxy up\n"
    pod.containers[1].previous_logs = "proxy crashed\n"
    text = format_dump(NamespaceDump("ns1", ["t Warning BackOff Pod/web: x"], [pod]))
    assert "[sidecar] proxy: running(startedAt=2026-01-01T00:00:00Z) ready=True restarts=2" in text
    assert "[app] app: waiting(reason=CrashLoopBackOff)" in text
    assert "previous logs web/proxy" in text and "proxy crashed" in text


def test_restarted_system_containers_are_listed_with_their_last_end():
    manager = {
        "metadata": {"name": "kube-controller-manager-kc"},
        "status": {
            "containerStatuses": [
                {
                    "name": "kube-controller-manager",
                    "restartCount": 2,
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
                }
            ]
        },
    }
    steady = {"metadata": {"name": "etcd-kc"}, "status": {"containerStatuses": [{"name": "etcd"}]}}
    lines = restart_lines([manager, steady])
    assert lines == [
        "kube-controller-manager-kc/kube-controller-manager: 2 restarts,"
        " last terminated(reason=Error, exitCode=1)"
    ]
    text = format_dump(NamespaceDump("ns1", [], [], system_restarts=lines))
    assert "kube-system containers that restarted:\n  kube-controller-manager-kc/" in text
