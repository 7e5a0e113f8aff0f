"""Who gets a message and why not: the organisation's region, target groups and keywords (policy), the reason
stored for every advert that is not messaged (reasons), and the review queue of held adverts (review)."""
