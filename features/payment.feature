Feature: Paying for a report
  As a customer who described a problem
  I want my payment to turn into exactly one report
  and the shop that runs diagpro wants no money taken without one.

  Background:
    Given I have described my 2015 Ford F-150 with the codes "P0301 P0171"

  Scenario: Paying yields a ready report
    When I pay on the checkout
    And the worker runs
    Then the submission is "ready"
    And the report lists the 15 sections and the codes "P0301, P0171"
    And fresh download and view links are offered

  Scenario: A payment event delivered five times produces one job and one report
    When I pay on the checkout and the payment event is delivered 5 times
    Then 1 job is queued
    When the worker runs
    Then the submission is "ready"
    And the analysis ran 1 time

  Scenario: A payment for the wrong amount is not fulfilled
    When a signed payment event for 100 cents arrives for my checkout
    Then the submission is "pending"
    And 0 jobs are queued
    And the status says "A payment arrived but was not accepted"

  Scenario: Cancelling the checkout lets me pay again later
    When I cancel on the checkout
    Then the submission is "pending"
    And I can open a new checkout
