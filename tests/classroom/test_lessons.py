"""Lesson files: the built-in ones load, an instructor's own file is added, a bad one is named."""

import json

import pytest

from keras_playground.classroom.lessons import LESSONS_DIR, LessonError, load_lessons
from keras_playground.specs import Limits


def test_the_lesson_files_live_in_the_classroom_package():
    assert LESSONS_DIR.parent.name == "classroom" and len(list(LESSONS_DIR.glob("*.json"))) >= 7


def test_every_built_in_lesson_loads_and_a_bad_file_is_named(tmp_path):
    lessons = load_lessons(Limits())
    assert [l.exercise for l in lessons[:1]] == ["Ex1"] and len(lessons) >= 7
    good = json.loads(json.dumps(lessons[0].model_dump(mode="json", by_alias=True)))
    good.update(id="99-mine", title="My lesson", order=99)
    (tmp_path / "99-mine.json").write_text(json.dumps(good))
    assert load_lessons(Limits(), tmp_path)[-1].title == "My lesson"  # an instructor's own file

    good["steps"][1]["settings"]["layers"] = [{"units": 500}]
    (tmp_path / "99-mine.json").write_text(json.dumps(good))
    with pytest.raises(LessonError, match=r"99-mine.json, step 2 settings: layers\[0\].units: 500"):
        load_lessons(Limits(), tmp_path)
