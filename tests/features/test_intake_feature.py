import json

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from diagpro.domain.errors import IntakeInvalid
from diagpro.domain.ids import is_submission_id

scenarios("intake.feature")


@given(
    parsers.parse(
        'I describe my 2015 Ford F-150 with the codes "{codes}" and the problem "{problem}"'
    ),
    target_fixture="payload",
)
def describe_f150(codes, problem):
    return {
        "equipmentType": "automotive",
        "make": "Ford",
        "model": "F-150",
        "year": "2015",
        "errorCodes": codes,
        "problemDescription": problem,
        "email": "owner@example.com",
    }


@given(
    parsers.parse('I describe a "{equipment}" with the email "{email}" and no problem'),
    target_fixture="payload",
)
def describe_badly(equipment, email):
    return {"equipmentType": equipment, "email": email}


@given(
    parsers.parse("I describe my furnace with the symptoms {symptoms}"), target_fixture="payload"
)
def describe_furnace(symptoms):
    return {"equipmentType": "hvac", "email": "owner@example.com", "symptoms": json.loads(symptoms)}


@given(
    parsers.parse('I describe my boat with the detail "{name}" set to "{value}"'),
    target_fixture="payload",
)
def describe_boat(name, value):
    return {
        "equipmentType": "marine",
        "email": "owner@example.com",
        "problemDescription": "Outboard overheats at cruise",
        name: value,
    }


@when("I submit the description", target_fixture="result")
def submit(harness, payload):
    try:
        return harness.save(payload)
    except IntakeInvalid as refused:
        return refused


@then("it is accepted with a submission id", target_fixture="submission_id")
def accepted(result):
    assert not isinstance(result, IntakeInvalid), result
    assert is_submission_id(result.id)
    return result.id


@then("it is refused")
def refused(result):
    assert isinstance(result, IntakeInvalid)


@then(parsers.parse('the refusal names the fields "{fields}"'))
def refusal_names(result, fields):
    assert {p.field for p in result.problems} == {f.strip() for f in fields.split(",")}


@then("nothing is stored")
def nothing_stored(harness):
    # The next accepted submission takes the very first id: the refused one never got one.
    sub = harness.save()
    assert sub.id.endswith("1".zfill(24))


@then(parsers.parse('the symptoms are kept as "{symptoms}"'))
def symptoms_kept(harness, submission_id, symptoms):
    assert list(harness.submission(submission_id).intake.symptoms) == symptoms.split("; ")


@then(parsers.parse('the detail "{name}" is kept as "{value}"'))
def detail_kept(harness, submission_id, name, value):
    assert harness.submission(submission_id).intake.detail(name) == value


@pytest.fixture
def submission_id():  # overridden by the "accepted" step's target_fixture
    return None
