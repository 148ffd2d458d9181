"""Asana: refresh tokens that do not rotate; every tool against the emulator; another
project's tasks are refused."""

from __future__ import annotations

import pytest

from connections.errors import ToolForbidden, ToolInvalid


@pytest.fixture
def world(provider_world):
    def seed(asana):
        asana.ws = asana.add_workspace("Acme", ["u-1", "u-2"])
        asana.web = asana.add_project(asana.ws, "Website", ["u-1", "u-2"])
        asana.hr = asana.add_project(asana.ws, "HR", ["u-2"])
        asana.add_task(asana.web, "Fix header", assignee="u-1")
        asana.salaries = asana.add_task(asana.hr, "Salary review", assignee="u-2")

    return provider_world("asana", prepare=seed)


def test_workspaces_projects_and_tasks(world):
    emulator = world.emulator
    workspaces = world.run(world.alice, "asana_list_workspaces")["workspaces"]
    assert workspaces == [{"id": emulator.ws["gid"], "name": "Acme"}]
    projects = world.run(world.alice, "asana_list_projects", workspace_id=emulator.ws["gid"])
    assert [p["name"] for p in projects["projects"]] == ["Website"]
    tasks = world.run(world.alice, "asana_list_tasks", project_id=emulator.web["gid"])["tasks"]
    assert [t["name"] for t in tasks] == ["Fix header"]
    mine = world.run(
        world.alice, "asana_list_tasks", workspace_id=emulator.ws["gid"], incomplete_only=True
    )
    assert [t["assignee"] for t in mine["tasks"]] == ["Alice Martin"]
    with pytest.raises(ToolInvalid):
        world.run(world.alice, "asana_list_tasks")


def test_create_update_get_and_comment(world):
    emulator = world.emulator
    task = world.run(
        world.alice,
        "asana_create_task",
        name="Write copy",
        project_id=emulator.web["gid"],
        due_on="2026-12-01",
        assign_to_me=True,
    )
    assert task["due_on"] == "2026-12-01" and task["assignee"] == "Alice Martin"
    done = world.run(world.alice, "asana_update_task", task_id=task["id"], completed=True)
    assert done["completed"] is True
    world.run(world.bob, "asana_add_comment", task_id=task["id"], text="Great")
    fetched = world.run(world.bob, "asana_get_task", task_id=task["id"])
    assert fetched["projects"] == ["Website"]
    assert emulator.tasks[task["id"]]["stories"][0]["text"] == "Great"


def test_another_projects_tasks_are_forbidden(world):
    with pytest.raises(ToolForbidden):
        world.run(world.alice, "asana_get_task", task_id=world.emulator.salaries["gid"])
    with pytest.raises(ToolForbidden):
        world.run(world.alice, "asana_create_task", name="x", project_id=world.emulator.hr["gid"])
