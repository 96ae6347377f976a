Feature: My personal data is kept only as long as it must be
  As a customer
  I want my name, email, phone, VIN and description erased once my order is done with,
  or at once when I ask,
  while the shop keeps what its accounting needs: amounts, dates, statuses and payment ids.

  # DIAGPRO_RETENTION_DAYS: 90 by default, counted from the order's last change.

  @in-process
  Scenario: After the retention period my details are gone but the order's accounting remains
    Given my report on my 2015 Ford F-150 is ready
    When 91 days pass
    And the daily purge runs
    Then my name, email, phone, VIN and description are no longer kept
    And my report is gone
    And the order still records my payment of $4.99 and its Stripe ids
    And the submission is "ready"
    And the status says "were erased on"
    And asking for the download links is refused because the report was erased

  @in-process
  Scenario: Nothing is erased before the retention period ends
    Given my report on my 2015 Ford F-150 is ready
    When 89 days pass
    And the daily purge runs
    Then the download link gives me the report

  @in-process
  Scenario: A paid order whose report is not made yet is never erased
    Given I have paid for a report on my 2015 Ford F-150
    When 200 days pass
    And the daily purge runs
    Then my details are still kept
    And when the worker runs my report is made

  @in-process
  Scenario: Forget me
    Given my report on my 2015 Ford F-150 is ready
    And I described another problem under the same email
    When I ask to be forgotten by my email address
    Then both of my submissions are erased at once
    And my report is gone
    And the order still records my payment of $4.99 and its Stripe ids
    And another customer's submission is untouched

  @in-process
  Scenario: Forgetting an email nobody used is refused
    Given I have described my 2015 Ford F-150 with the codes "P0301"
    When the operator is asked to forget "nobody@example.com"
    Then it is refused because nothing matches
