Feature: The report reaches me by email
  As a customer who paid and then closed the browser tab
  I want my report to reach me by email
  so that the success page is not the only way back to it.

  Background:
    Given I have described my 2015 Ford F-150 with the codes "P0301 P0171"

  Scenario: My report reaches me by email
    When I pay on the checkout
    And the worker runs
    Then the submission is "ready"
    And I get 1 email saying my report is ready
    And the email names my machine and my problem
    And the email has a plain-text part and an HTML part that say the same
    And the email gives the report ID and the SHA-256 of the PDF
    And the email's link opens my report, whose SHA-256 is the one the email gives

  @signed-event
  Scenario: A redelivered event sends one email
    When I pay on the checkout and the payment event is delivered 3 times
    And the worker runs
    Then the submission is "ready"
    And I get 1 email saying my report is ready
    When the payment provider reports the payment refunded, delivered 3 times
    And the worker runs
    Then the submission is "refunded"
    And I get 1 email saying my payment was refunded
    And I got 2 emails in all
