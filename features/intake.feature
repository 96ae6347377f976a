Feature: Describing a problem
  As the owner of a machine that misbehaves
  I want to describe the problem once, in my own words,
  so that I can pay for a report about it without fighting the form.

  Scenario: A complete description is accepted
    Given I describe my 2015 Ford F-150 with the codes "P0301 P0171" and the problem "Rough idle and shaking at stops"
    When I submit the description
    Then it is accepted with a submission id
    And the submission is "pending"

  Scenario: A description with mistakes is refused with every field named
    Given I describe a "spaceship" with the email "not-an-email" and no problem
    When I submit the description
    Then it is refused
    And the refusal names the fields "equipmentType, email, problemDescription"
    And nothing is stored

  Scenario Outline: Symptoms are accepted as a list or as one comma-separated text
    Given I describe my furnace with the symptoms <symptoms>
    When I submit the description
    Then it is accepted with a submission id
    And the symptoms are kept as "short cycling; no heat"

    Examples:
      | symptoms                           |
      | "short cycling, no heat"           |
      | ["short cycling", "no heat"]       |

  Scenario: Details of my kind of equipment are kept
    Given I describe my boat with the detail "waterType" set to "salt"
    When I submit the description
    Then it is accepted with a submission id
    And the detail "waterType" is kept as "salt"
